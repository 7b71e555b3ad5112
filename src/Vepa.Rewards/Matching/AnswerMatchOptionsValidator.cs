using System.Globalization;

namespace Vepa.Rewards;

/// <summary>Checks <see cref="AnswerMatchOptions"/> and reports every problem at once.</summary>
internal static class AnswerMatchOptionsValidator
{
    /// <summary>Throws when <paramref name="options"/> is invalid, listing every problem.</summary>
    /// <param name="options">The options to check.</param>
    /// <param name="paramName">The name of the caller's parameter.</param>
    /// <exception cref="ArgumentException">At least one problem was found.</exception>
    public static void ThrowIfInvalid(AnswerMatchOptions options, string paramName)
        => OptionProblems.ThrowIfAny(GetProblems(options), "The answer-matching options", paramName);

    /// <summary>Lists the problems of <paramref name="options"/>, each a full sentence.</summary>
    /// <param name="options">The options to check.</param>
    /// <returns>The problems; empty when the options are valid.</returns>
    public static List<string> GetProblems(AnswerMatchOptions options)
    {
        var problems = new List<string>();
        if (!(options.AbsoluteTolerance >= 0) || double.IsPositiveInfinity(options.AbsoluteTolerance))
        {
            problems.Add(string.Create(CultureInfo.InvariantCulture, $"AbsoluteTolerance must be finite and >= 0; got {options.AbsoluteTolerance}."));
        }

        if (!(options.RelativeTolerance >= 0 && options.RelativeTolerance < 1))
        {
            problems.Add(string.Create(CultureInfo.InvariantCulture, $"RelativeTolerance must be in [0, 1); got {options.RelativeTolerance}."));
        }

        if (options.NegationWindow is < 0 or > AnswerMatchConstants.MaxNegationWindow)
        {
            problems.Add(string.Create(CultureInfo.InvariantCulture, $"NegationWindow must be in [0, {AnswerMatchConstants.MaxNegationWindow}]; got {options.NegationWindow}."));
        }

        if (options.StopWords is { } stopWords)
        {
            int index = 0;
            foreach (string? word in stopWords)
            {
                if (string.IsNullOrWhiteSpace(word) || word.Trim().Any(char.IsWhiteSpace))
                {
                    problems.Add(string.Create(CultureInfo.InvariantCulture, $"StopWords must hold single non-empty words; entry {index} is \"{word}\"."));
                }

                index++;
            }
        }

        return problems;
    }
}
