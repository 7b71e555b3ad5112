namespace Vepa;

/// <summary>Convenience methods over <see cref="IPolicy"/> and <see cref="IRolloutSampler"/>.</summary>
public static class PolicyExtensions
{
    /// <summary>Asks <paramref name="policy"/> for a service of type <typeparamref name="TService"/>.</summary>
    /// <typeparam name="TService">The type of object requested.</typeparam>
    /// <param name="policy">The policy.</param>
    /// <param name="serviceKey">An optional key.</param>
    /// <returns>The object, or <see langword="null"/>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="policy"/> is <see langword="null"/>.</exception>
    public static TService? GetService<TService>(this IPolicy policy, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(policy);
        return policy.GetService(typeof(TService), serviceKey) is TService service ? service : default;
    }

    /// <summary>Asks <paramref name="sampler"/> for a service of type <typeparamref name="TService"/>.</summary>
    /// <typeparam name="TService">The type of object requested.</typeparam>
    /// <param name="sampler">The sampler.</param>
    /// <param name="serviceKey">An optional key.</param>
    /// <returns>The object, or <see langword="null"/>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="sampler"/> is <see langword="null"/>.</exception>
    public static TService? GetService<TService>(this IRolloutSampler sampler, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(sampler);
        return sampler.GetService(typeof(TService), serviceKey) is TService service ? service : default;
    }
}
