using System.Globalization;

namespace Vepa.Rewards;

/// <summary>Checks <see cref="SufficiencyRewardOptions"/> and reports every problem at once.</summary>
internal static class SufficiencyRewardOptionsValidator
{
    /// <summary>Throws when <paramref name="options"/> is invalid, listing every problem.</summary>
    /// <param name="options">The options to check.</param>
    /// <param name="paramName">The name of the caller's parameter.</param>
    /// <exception cref="ArgumentException">At least one problem was found.</exception>
    public static void ThrowIfInvalid(SufficiencyRewardOptions options, string paramName)
        => OptionProblems.ThrowIfAny(GetProblems(options), "The sufficiency reward options", paramName);

    /// <summary>Lists the problems of <paramref name="options"/>, each a full sentence.</summary>
    /// <param name="options">The options to check.</param>
    /// <returns>The problems; empty when the options are valid.</returns>
    public static List<string> GetProblems(SufficiencyRewardOptions options)
    {
        var problems = new List<string>();
        if (!Enum.IsDefined(options.Formula))
        {
            problems.Add(string.Create(CultureInfo.InvariantCulture, $"Formula must be Multiplicative or Signed; got {(int)options.Formula}."));
        }

        if (options.RepetitionNGramSize is < 1 or > RepetitionPenalty.MaxNGramSize)
        {
            problems.Add(string.Create(CultureInfo.InvariantCulture, $"RepetitionNGramSize must be in [1, {RepetitionPenalty.MaxNGramSize}]; got {options.RepetitionNGramSize}."));
        }

        if (!(options.RepetitionThreshold >= 0 && options.RepetitionThreshold < 1))
        {
            problems.Add(string.Create(CultureInfo.InvariantCulture, $"RepetitionThreshold must be in [0, 1); got {options.RepetitionThreshold}."));
        }

        if (!(options.RepetitionFloor > 0 && options.RepetitionFloor <= 1))
        {
            problems.Add(string.Create(CultureInfo.InvariantCulture, $"RepetitionFloor must be in (0, 1]; got {options.RepetitionFloor}."));
        }

        if (!(options.SignedCorrectReward > 0) || double.IsPositiveInfinity(options.SignedCorrectReward))
        {
            problems.Add(string.Create(CultureInfo.InvariantCulture, $"SignedCorrectReward must be finite and > 0; got {options.SignedCorrectReward}."));
        }

        if (!(options.SignedCheatingReward <= 0) || double.IsNegativeInfinity(options.SignedCheatingReward))
        {
            problems.Add(string.Create(CultureInfo.InvariantCulture, $"SignedCheatingReward must be finite and <= 0; got {options.SignedCheatingReward}."));
        }

        if (!(options.SignedRepetitionPenalty >= 0) || double.IsPositiveInfinity(options.SignedRepetitionPenalty))
        {
            problems.Add(string.Create(CultureInfo.InvariantCulture, $"SignedRepetitionPenalty must be finite and >= 0; got {options.SignedRepetitionPenalty}."));
        }

        if (options.MaxEvidenceCharacters is < 1 or > SufficiencyRewardConstants.MaxMaxEvidenceCharacters)
        {
            problems.Add(string.Create(CultureInfo.InvariantCulture, $"MaxEvidenceCharacters must be in [1, {SufficiencyRewardConstants.MaxMaxEvidenceCharacters}]; got {options.MaxEvidenceCharacters}."));
        }

        if (options.MaxEvidenceTokens is int maxTokens)
        {
            if (maxTokens < 1)
            {
                problems.Add(string.Create(CultureInfo.InvariantCulture, $"MaxEvidenceTokens must be positive when set; got {maxTokens}."));
            }

            if (options.EvidenceTokenCounter is null)
            {
                problems.Add("MaxEvidenceTokens is set but EvidenceTokenCounter is null; set a token counter (for example the reader's tokenizer).");
            }
        }

        if (options.ReaderTimeoutAttempts is < 1 or > SufficiencyRewardConstants.MaxReaderTimeoutAttempts)
        {
            problems.Add(string.Create(CultureInfo.InvariantCulture, $"ReaderTimeoutAttempts must be in [1, {SufficiencyRewardConstants.MaxReaderTimeoutAttempts}]; got {options.ReaderTimeoutAttempts}."));
        }

        if (options.EvidenceFailureReward is double penalty && !double.IsFinite(penalty))
        {
            problems.Add(string.Create(CultureInfo.InvariantCulture, $"EvidenceFailureReward must be finite when set; got {penalty}."));
        }

        if (options.Repetition is null)
        {
            problems.Add("Repetition must not be null.");
        }
        else
        {
            problems.AddRange(RepetitionPenaltyOptionsValidator.GetProblems(options.Repetition, "Repetition."));
        }

        return problems;
    }
}
