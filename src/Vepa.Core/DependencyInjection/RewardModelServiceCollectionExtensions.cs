using Microsoft.Extensions.DependencyInjection.Extensions;
using Vepa;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers reward model pipelines in an <see cref="IServiceCollection"/>.</summary>
/// <remarks>
/// <para>
/// Each method registers a singleton <see cref="IRewardModel"/> built from the returned <see cref="RewardModelBuilder"/> the first time
/// it is resolved, with the container as the builder's service provider (stages take their logger factory, meter factory and
/// <see cref="TimeProvider"/> from it). Stages added to the builder after the call still apply, as long as they are added before the
/// first resolution.
/// </para>
/// <para>
/// Registration uses <c>TryAdd</c> semantics: when a reward model (with the same key, for the keyed overloads) is already registered,
/// nothing is registered and the returned builder is never built.
/// </para>
/// <para>The container owns the built pipeline: disposing the container disposes the pipeline, which disposes the inner model, including one passed as an instance.</para>
/// </remarks>
public static class RewardModelServiceCollectionExtensions
{
    /// <summary>Registers a singleton <see cref="IRewardModel"/> pipeline around <paramref name="innerModel"/>.</summary>
    /// <param name="services">The service collection.</param>
    /// <param name="innerModel">The model at the centre of the pipeline.</param>
    /// <returns>The builder; add stages to it with its <c>UseXxx</c> extension methods.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="services"/> or <paramref name="innerModel"/> is <see langword="null"/>.</exception>
    public static RewardModelBuilder AddRewardModel(this IServiceCollection services, IRewardModel innerModel)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(innerModel);
        return services.AddRewardModel(_ => innerModel);
    }

    /// <summary>Registers a singleton <see cref="IRewardModel"/> pipeline around the model <paramref name="innerModelFactory"/> creates.</summary>
    /// <param name="services">The service collection.</param>
    /// <param name="innerModelFactory">Creates the model at the centre of the pipeline from the container.</param>
    /// <returns>The builder; add stages to it with its <c>UseXxx</c> extension methods.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="services"/> or <paramref name="innerModelFactory"/> is <see langword="null"/>.</exception>
    public static RewardModelBuilder AddRewardModel(this IServiceCollection services, Func<IServiceProvider, IRewardModel> innerModelFactory)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(innerModelFactory);
        var builder = new RewardModelBuilder(innerModelFactory);
        services.TryAddSingleton<IRewardModel>(provider => builder.Build(provider));
        return builder;
    }

    /// <summary>Registers a keyed singleton <see cref="IRewardModel"/> pipeline around <paramref name="innerModel"/>.</summary>
    /// <param name="services">The service collection.</param>
    /// <param name="serviceKey">The key to register the model under.</param>
    /// <param name="innerModel">The model at the centre of the pipeline.</param>
    /// <returns>The builder; add stages to it with its <c>UseXxx</c> extension methods.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="services"/>, <paramref name="serviceKey"/> or <paramref name="innerModel"/> is <see langword="null"/>.</exception>
    public static RewardModelBuilder AddKeyedRewardModel(this IServiceCollection services, object serviceKey, IRewardModel innerModel)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(serviceKey);
        ArgumentNullException.ThrowIfNull(innerModel);
        return services.AddKeyedRewardModel(serviceKey, _ => innerModel);
    }

    /// <summary>Registers a keyed singleton <see cref="IRewardModel"/> pipeline around the model <paramref name="innerModelFactory"/> creates.</summary>
    /// <param name="services">The service collection.</param>
    /// <param name="serviceKey">The key to register the model under.</param>
    /// <param name="innerModelFactory">Creates the model at the centre of the pipeline from the container.</param>
    /// <returns>The builder; add stages to it with its <c>UseXxx</c> extension methods.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="services"/>, <paramref name="serviceKey"/> or <paramref name="innerModelFactory"/> is <see langword="null"/>.</exception>
    public static RewardModelBuilder AddKeyedRewardModel(this IServiceCollection services, object serviceKey, Func<IServiceProvider, IRewardModel> innerModelFactory)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(serviceKey);
        ArgumentNullException.ThrowIfNull(innerModelFactory);
        var builder = new RewardModelBuilder(innerModelFactory);
        services.TryAddKeyedSingleton<IRewardModel>(serviceKey, (provider, _) => builder.Build(provider));
        return builder;
    }
}
