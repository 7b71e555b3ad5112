using System.Globalization;

namespace Vepa.Rewards;

/// <summary>Checks <see cref="RepetitionPenaltyOptions"/>.</summary>
internal static class RepetitionPenaltyOptionsValidator
{
    /// <summary>Lists the problems of <paramref name="options"/>, each a full sentence whose field names start with <paramref name="prefix"/>.</summary>
    /// <param name="options">The options.</param>
    /// <param name="prefix">The path of the options, for example "Repetition.".</param>
    /// <returns>The problems; empty when the options are valid.</returns>
    public static List<string> GetProblems(RepetitionPenaltyOptions options, string prefix)
    {
        var problems = new List<string>();
        if (!(options.NearDuplicateSentenceOverlap > 0 && options.NearDuplicateSentenceOverlap <= 1))
        {
            problems.Add(string.Create(CultureInfo.InvariantCulture, $"{prefix}NearDuplicateSentenceOverlap must be in (0, 1]; got {options.NearDuplicateSentenceOverlap}."));
        }

        if (options.LengthPenaltyWords is int words && words is < 1 or > 100_000)
        {
            problems.Add(string.Create(CultureInfo.InvariantCulture, $"{prefix}LengthPenaltyWords must be in [1, 100000] when set; got {words}."));
        }

        return problems;
    }
}
