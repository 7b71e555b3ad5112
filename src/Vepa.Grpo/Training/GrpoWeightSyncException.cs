namespace Vepa.Grpo;

/// <summary>
/// Training stopped because the policy's weights could not be sent to the sampler (its <see cref="IWeightSynchronizer"/> threw):
/// sampling on from stale weights would train on rollouts of a policy the run no longer has, so the trainer stops loudly instead.
/// </summary>
/// <remarks>Thrown by <c>GrpoTrainer.TrainAsync</c> at the start of a step, before anything of that step ran, after it wrote a
/// checkpoint of the last completed step (when a checkpoint folder is set); <c>StepAsync</c> throws it without a checkpoint. With
/// periodic evaluation, the sync an evaluation runs first can also throw it, after that step's update was applied and published.
/// The inner exception is the synchronizer's.</remarks>
public sealed class GrpoWeightSyncException : Exception
{
    /// <summary>Initializes a new instance of the <see cref="GrpoWeightSyncException"/> class.</summary>
    public GrpoWeightSyncException()
        : base("GRPO training stopped: the policy's weights could not be sent to the sampler.")
    {
    }

    /// <summary>Initializes a new instance of the <see cref="GrpoWeightSyncException"/> class.</summary>
    /// <param name="message">The message.</param>
    public GrpoWeightSyncException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="GrpoWeightSyncException"/> class.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The underlying exception.</param>
    public GrpoWeightSyncException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="GrpoWeightSyncException"/> class.</summary>
    /// <param name="completedSteps">The steps completed before the failed sync.</param>
    /// <param name="version">The weight version that was being sent.</param>
    /// <param name="reason">What failed (safe to log: the exception's type, and its message unless it may quote a server).</param>
    /// <param name="innerException">The synchronizer's exception.</param>
    public GrpoWeightSyncException(int completedSteps, long version, string reason, Exception? innerException)
        : base($"GRPO training stopped after step {completedSteps}: sending the weights of version {version} to the sampler failed ({reason}). " +
            "The sampler would otherwise keep sampling from stale weights; fix the sampler and resume from the last checkpoint.", innerException)
    {
        CompletedSteps = completedSteps;
        Version = version;
    }

    /// <summary>Gets the steps completed before the failed sync.</summary>
    public int CompletedSteps { get; }

    /// <summary>Gets the weight version that was being sent.</summary>
    public long Version { get; }
}
