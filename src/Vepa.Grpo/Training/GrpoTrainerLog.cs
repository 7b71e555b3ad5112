using Microsoft.Extensions.Logging;

namespace Vepa.Grpo;

/// <summary>The trainer's structured log messages.</summary>
internal static partial class GrpoTrainerLog
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Information,
        Message = "GRPO step {Step}: reward {RewardMean:F4} ± {RewardStd:F4}, failed {FailedRewards}, zero-signal {ZeroSignalFraction:P0}, loss {Loss:F5}, KL {Kl:F5}, clip {ClipLow:F3}/{ClipHigh:F3}, entropy {Entropy:F3}, length {LengthMean:F1}, grad norm {GradNorm:F4}, lr {LearningRate:E2}, {Seconds:F2} s")]
    public static partial void StepCompleted(ILogger logger, int step, double rewardMean, double rewardStd, int failedRewards, double zeroSignalFraction,
        double loss, double kl, double clipLow, double clipHigh, double entropy, double lengthMean, double gradNorm, double learningRate, double seconds);

    [LoggerMessage(EventId = 2, Level = LogLevel.Warning, Message = "GRPO step {Step}: reward scoring failed for all {Count} rollouts: {Reason}")]
    public static partial void RewardBatchFailed(ILogger logger, int step, int count, string reason, Exception? exception);

    [LoggerMessage(EventId = 3, Level = LogLevel.Warning, Message = "GRPO step {Step}: gradient norm {GradNorm} is not finite; the optimizer step was skipped")]
    public static partial void NonFiniteGradient(ILogger logger, int step, double gradNorm);

    [LoggerMessage(EventId = 4, Level = LogLevel.Information, Message = "GRPO checkpoint of step {Step} written to {Path}")]
    public static partial void CheckpointWritten(ILogger logger, int step, string path);

    [LoggerMessage(EventId = 5, Level = LogLevel.Information, Message = "GRPO training resumed from {Path} at step {Step}")]
    public static partial void Resumed(ILogger logger, string path, int step);

    [LoggerMessage(EventId = 6, Level = LogLevel.Warning, Message = "GRPO step {Step}: no usable reward (every reward failed), so the policy was not updated; {Count} of at most {Limit} such steps in a row. Reason: {Reason}")]
    public static partial void NoUsableReward(ILogger logger, int step, int count, int limit, string reason);

    [LoggerMessage(EventId = 7, Level = LogLevel.Warning, Message = "GRPO resume from {Path}: options differ from the checkpoint's and the current ones apply: {Changes}")]
    public static partial void ResumedWithChangedOptions(ILogger logger, string path, string changes);
}
