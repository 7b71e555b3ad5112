using Microsoft.Extensions.Logging;

namespace Vepa.Grpo;

/// <summary>The trainer's log messages about weight versions, weight sync, sampler correction and overlapped generation (event ids 40–49).</summary>
internal static partial class GrpoTrainerLog
{
    [LoggerMessage(EventId = 40, Level = LogLevel.Information,
        Message = "GRPO: the sampler samples remotely and reports log-probs, so the loss corrects the sampler mismatch with token-level truncated importance sampling, w = min(π_old/π_sampler, {Max}) (AutoSamplerCorrection; set Loss.SamplerCorrection to choose another mode)")]
    public static partial void AutoSamplerCorrection(ILogger logger, double max);

    [LoggerMessage(EventId = 41, Level = LogLevel.Debug, Message = "GRPO: weights of version {Version} sent to the sampler in {Seconds:F3} s")]
    public static partial void WeightsSynchronized(ILogger logger, long version, double seconds);

    [LoggerMessage(EventId = 42, Level = LogLevel.Warning,
        Message = "GRPO: the sampler samples remotely but offers no IWeightSynchronizer, so its weights never follow the policy's; every batch is tagged with the version it reports (0 when it reports none)")]
    public static partial void NoWeightSynchronizer(ILogger logger);

    [LoggerMessage(EventId = 43, Level = LogLevel.Debug, Message = "GRPO: the rollouts sampled ahead for step {Step} were discarded when training stopped")]
    public static partial void PrefetchDiscarded(ILogger logger, int step, Exception? exception);
}
