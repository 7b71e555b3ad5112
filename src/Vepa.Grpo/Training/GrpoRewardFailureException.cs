namespace Vepa.Grpo;

/// <summary>
/// Training stopped because <see cref="GrpoTrainerOptions.MaxConsecutiveFailedRewardSteps"/> steps in a row had no usable reward
/// (every reward failed, or no group kept two scored rewards), so the run could not learn. The message carries the failure reason of the last such step.
/// </summary>
/// <remarks>Thrown by <c>GrpoTrainer.TrainAsync</c> after it wrote a checkpoint (when a checkpoint folder is set). The failed steps
/// did not change the policy.</remarks>
public sealed class GrpoRewardFailureException : Exception
{
    /// <summary>Initializes a new instance of the <see cref="GrpoRewardFailureException"/> class.</summary>
    public GrpoRewardFailureException()
        : base("GRPO training stopped: the reward model produced no usable reward.")
    {
    }

    /// <summary>Initializes a new instance of the <see cref="GrpoRewardFailureException"/> class.</summary>
    /// <param name="message">The message.</param>
    public GrpoRewardFailureException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="GrpoRewardFailureException"/> class.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The underlying exception.</param>
    public GrpoRewardFailureException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="GrpoRewardFailureException"/> class.</summary>
    /// <param name="step">The last step (1-based) whose rewards all failed.</param>
    /// <param name="consecutiveSteps">How many steps in a row had no usable reward.</param>
    /// <param name="reason">The failure reason of the last such step (safe to log).</param>
    public GrpoRewardFailureException(int step, int consecutiveSteps, string? reason)
        : base($"GRPO training stopped at step {step}: {consecutiveSteps} steps in a row had no usable reward (every reward failed, or no group kept two scored rewards). Last failure: {reason ?? "(no reason given)"}.")
    {
        Step = step;
        ConsecutiveSteps = consecutiveSteps;
        Reason = reason;
    }

    /// <summary>Gets the last step whose rewards all failed.</summary>
    public int Step { get; }

    /// <summary>Gets how many steps in a row had no usable reward.</summary>
    public int ConsecutiveSteps { get; }

    /// <summary>Gets the failure reason of the last such step, or <see langword="null"/>.</summary>
    public string? Reason { get; }
}
