namespace Vepa.Rewards;

/// <summary>Defaults of <see cref="SufficiencyRewardOptions"/> and <see cref="VisualDependencyOptions"/>.</summary>
internal static class SufficiencyRewardConstants
{
    public const int DefaultRepetitionNGramSize = 3;

    public const double DefaultRepetitionThreshold = 0.3;

    public const double DefaultRepetitionFloor = 0.1;

    public const double DefaultSignedCorrectReward = 1.0;

    public const double DefaultSignedCheatingReward = -1.0;

    public const double DefaultSignedRepetitionPenalty = 0.5;

    public const int DefaultMaxEvidenceCharacters = 8000;

    public const int MaxMaxEvidenceCharacters = 10_000_000;

    public const int DefaultReaderTimeoutAttempts = 2;

    public const int MaxReaderTimeoutAttempts = 10;

    public const int MaxSamples = 64;

    public const int MaxConcurrency = 256;
}
