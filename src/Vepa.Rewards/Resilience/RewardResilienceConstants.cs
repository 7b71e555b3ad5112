namespace Vepa.Rewards;

/// <summary>Defaults and bounds of the resilience stages' options.</summary>
internal static class RewardResilienceConstants
{
    /// <summary>Calls in flight at once: enough to keep a remote inference server (vLLM, TGI, an OpenAI-compatible gateway) busy without flooding it.</summary>
    public const int DefaultMaxConcurrency = 16;

    public const int MaxMaxConcurrency = 4096;

    /// <summary>Items per inner call: 1, because a blind reader answers one rollout per chat request.</summary>
    public const int DefaultMaxBatchSize = 1;

    public const int MaxMaxBatchSize = 4096;

    public const int DefaultMaxRetries = 3;

    public const int MaxMaxRetries = 100;

    public const bool DefaultUseJitter = true;

    public const int DefaultMaxCachedEntries = 0;

    public const int MaxMaxCachedEntries = 10_000_000;

    public const string MinTimeoutText = "00:00:00.001";

    public const string MaxTimeoutText = "1.00:00:00";

    public const string MinDelayText = "00:00:00";

    public const string MaxBaseDelayText = "00:10:00";

    public const string MaxMaxDelayText = "01:00:00";

    /// <summary>Per-call timeout: a brief answer from a 3B-7B reader takes seconds; 30 s leaves room for a queued server.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    public static readonly TimeSpan MinTimeout = TimeSpan.Parse(MinTimeoutText, System.Globalization.CultureInfo.InvariantCulture);

    public static readonly TimeSpan MaxTimeout = TimeSpan.Parse(MaxTimeoutText, System.Globalization.CultureInfo.InvariantCulture);

    public static readonly TimeSpan DefaultBaseDelay = TimeSpan.FromSeconds(1);

    public static readonly TimeSpan DefaultMaxDelay = TimeSpan.FromSeconds(30);

    /// <summary>The default retry predicate: retry failures that say trying again may succeed.</summary>
    public static bool IsTransientFailure(RewardResult result) => result.Failure is { IsTransient: true };
}
