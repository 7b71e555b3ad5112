namespace Vepa;

/// <summary>
/// Pushes a policy's current weights to a sampler that holds its own copy (an inference engine in another process or on another
/// machine), so its next rollouts come from those weights. A sampler offers one through
/// <see cref="IRolloutSampler.GetService(Type, object?)"/>; a sampler that shares the policy's weights in process offers none.
/// </summary>
/// <remarks>
/// <para>Contract: when <see cref="SynchronizeAsync"/> completes, every rollout the sampler starts afterwards is sampled from the
/// weights passed in, and the batches it returns carry that version in <see cref="RolloutBatch.WeightVersion"/>.
/// A failure throws; the caller (the GRPO trainer) stops training rather than sample from stale weights silently.</para>
/// <para>The trainer calls it between steps, never while the sampler is sampling.</para>
/// </remarks>
public interface IWeightSynchronizer
{
    /// <summary>Sends the policy's current weights to the sampler.</summary>
    /// <param name="policy">The policy whose weights (<see cref="IPolicy.GetState"/>) are sent; read, not kept.</param>
    /// <param name="version">The weight version: the number of optimizer updates applied to the policy so far.</param>
    /// <param name="cancellationToken">A token that cancels the transfer.</param>
    /// <returns>A task that completes when the sampler serves the new weights.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="policy"/> is <see langword="null"/>.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    Task SynchronizeAsync(IPolicy policy, long version, CancellationToken cancellationToken = default);
}
