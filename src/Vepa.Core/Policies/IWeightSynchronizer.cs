namespace Vepa;

/// <summary>Copies a policy's current weights to where rollouts are sampled (an inference engine), so that the next rollouts come from them.</summary>
/// <remarks>
/// <para>A remote sampler that can receive weights returns one from <c>sampler.GetService(typeof(IWeightSynchronizer))</c>; a trainer
/// calls it after every k optimizer updates. When the call returns, every later sampling call uses the weights of
/// that version.</para>
/// <para>A sync that fails throws: training on stale weights is never silent. Calls are not concurrent with each other.</para>
/// </remarks>
public interface IWeightSynchronizer
{
    /// <summary>Sends the policy's current weights and tags them with a version.</summary>
    /// <param name="policy">The policy whose weights are sent.</param>
    /// <param name="version">The weight version (for example the count of optimizer updates); larger than any earlier version.</param>
    /// <param name="cancellationToken">A token that cancels the sync.</param>
    /// <returns>A task that completes when the sampler serves the new weights.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="policy"/> is <see langword="null"/>.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    Task SynchronizeAsync(IPolicy policy, long version, CancellationToken cancellationToken = default);
}
