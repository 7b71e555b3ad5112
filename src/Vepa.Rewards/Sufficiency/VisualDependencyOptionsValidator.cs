using System.Globalization;

namespace Vepa.Rewards;

/// <summary>Checks <see cref="VisualDependencyOptions"/> and reports every problem at once.</summary>
internal static class VisualDependencyOptionsValidator
{
    /// <summary>Throws when <paramref name="options"/> is invalid, listing every problem.</summary>
    /// <param name="options">The options to check.</param>
    /// <param name="paramName">The name of the caller's parameter.</param>
    /// <exception cref="ArgumentException">At least one problem was found.</exception>
    public static void ThrowIfInvalid(VisualDependencyOptions options, string paramName)
        => OptionProblems.ThrowIfAny(GetProblems(options), "The visual-dependency options", paramName);

    /// <summary>Lists the problems of <paramref name="options"/>, each a full sentence.</summary>
    /// <param name="options">The options to check.</param>
    /// <returns>The problems; empty when the options are valid.</returns>
    public static List<string> GetProblems(VisualDependencyOptions options)
    {
        var problems = new List<string>();
        if (options.Samples is < 1 or > SufficiencyRewardConstants.MaxSamples)
        {
            problems.Add(string.Create(CultureInfo.InvariantCulture, $"Samples must be in [1, {SufficiencyRewardConstants.MaxSamples}]; got {options.Samples}."));
        }

        if (options.MinCorrectSamples < 1 || options.MinCorrectSamples > Math.Max(options.Samples, 1))
        {
            problems.Add(string.Create(CultureInfo.InvariantCulture, $"MinCorrectSamples must be in [1, Samples = {options.Samples}]; got {options.MinCorrectSamples}."));
        }

        if (options.MaxConcurrency is < 1 or > SufficiencyRewardConstants.MaxConcurrency)
        {
            problems.Add(string.Create(CultureInfo.InvariantCulture, $"MaxConcurrency must be in [1, {SufficiencyRewardConstants.MaxConcurrency}]; got {options.MaxConcurrency}."));
        }

        return problems;
    }
}
