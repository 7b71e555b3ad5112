namespace Vepa;

/// <summary>Convenience methods over <see cref="IRewardModel"/>.</summary>
public static class RewardModelExtensions
{
    /// <summary>Asks <paramref name="rewardModel"/> for a service of type <typeparamref name="TService"/>.</summary>
    /// <typeparam name="TService">The type of object requested.</typeparam>
    /// <param name="rewardModel">The model.</param>
    /// <param name="serviceKey">An optional key.</param>
    /// <returns>The object, or <see langword="null"/>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="rewardModel"/> is <see langword="null"/>.</exception>
    public static TService? GetService<TService>(this IRewardModel rewardModel, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(rewardModel);
        return rewardModel.GetService(typeof(TService), serviceKey) is TService service ? service : default;
    }

    /// <summary>Starts a <see cref="RewardModelBuilder"/> with <paramref name="innerModel"/> at the centre of the pipeline.</summary>
    /// <param name="innerModel">The model the pipeline wraps.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="innerModel"/> is <see langword="null"/>.</exception>
    public static RewardModelBuilder AsBuilder(this IRewardModel innerModel) => new(innerModel);
}
