namespace Vepa;

/// <summary>Scores batches of rollouts. Implement it to plug a custom reward into Vepa.</summary>
/// <remarks>
/// <para>Contract (checked by the shared contract tests every implementation's tests inherit):</para>
/// <list type="bullet">
/// <item>The returned list has exactly one result per request, in the same order.</item>
/// <item>A per-item problem (a reader call failed, timed out, returned garbage) is reported as a <see cref="RewardStatus.Failed"/> result, never thrown and never scored 0.</item>
/// <item>A <see langword="null"/> batch throws <see cref="ArgumentNullException"/>; an empty batch returns an empty list.</item>
/// <item>Cancellation through <c>cancellationToken</c> throws <see cref="OperationCanceledException"/>.</item>
/// <item>Implementations are safe to call concurrently.</item>
/// </list>
/// </remarks>
public interface IRewardModel : IDisposable
{
    /// <summary>Scores a batch of rollouts.</summary>
    /// <param name="requests">The rollouts to score.</param>
    /// <param name="cancellationToken">A token that cancels the whole batch.</param>
    /// <returns>One result per request, in request order.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="requests"/> is <see langword="null"/>.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    Task<IReadOnlyList<RewardResult>> ScoreAsync(IReadOnlyList<RewardRequest> requests, CancellationToken cancellationToken = default);

    /// <summary>Asks for an object of the given type from this model or the models it wraps (metadata, the inner reader, …).</summary>
    /// <param name="serviceType">The type of object requested.</param>
    /// <param name="serviceKey">An optional key.</param>
    /// <returns>The object, or <see langword="null"/> when none is available.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="serviceType"/> is <see langword="null"/>.</exception>
    object? GetService(Type serviceType, object? serviceKey = null);
}
