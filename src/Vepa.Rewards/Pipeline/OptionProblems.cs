namespace Vepa.Rewards;

/// <summary>Turns the problems a hand-written options validator found into one <see cref="ArgumentException"/>.</summary>
internal static class OptionProblems
{
    /// <summary>Throws when <paramref name="problems"/> is not empty, listing every problem.</summary>
    /// <param name="problems">The problems, each a full sentence.</param>
    /// <param name="subject">What was checked, e.g. "The answer-matching options".</param>
    /// <param name="paramName">The name of the caller's parameter.</param>
    /// <exception cref="ArgumentException"><paramref name="problems"/> is not empty.</exception>
    public static void ThrowIfAny(List<string> problems, string subject, string paramName)
    {
        if (problems.Count > 0)
        {
            throw new ArgumentException($"{subject} are invalid: {string.Join(" ", problems)}", paramName);
        }
    }
}
