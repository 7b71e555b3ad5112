using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Vepa.Rewards;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the options of the reward pipeline's resilience stages.</summary>
public static class RewardResilienceServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="RewardResilienceOptions"/> with data-annotation validation (nested options included), the cross-field rules,
    /// and validation on start; <c>UseResilience()</c> without options then reads them when the pipeline is built.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Changes the options, or <see langword="null"/>.</param>
    /// <returns>The options builder, to bind configuration or add more configuration.</returns>
    /// <remarks>Safe to call more than once: the validators are registered once; each <paramref name="configure"/> given is applied in order.</remarks>
    /// <exception cref="ArgumentNullException"><paramref name="services"/> is <see langword="null"/>.</exception>
    public static OptionsBuilder<RewardResilienceOptions> AddRewardResilienceOptions(this IServiceCollection services, Action<RewardResilienceOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        OptionsBuilder<RewardResilienceOptions> builder = services.AddOptions<RewardResilienceOptions>().ValidateOnStart();

        // The same as ValidateDataAnnotations(), registered once however often this method is called, then the cross-field rules.
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RewardResilienceOptions>>(
            new DataAnnotationValidateOptions<RewardResilienceOptions>(Microsoft.Extensions.Options.Options.DefaultName)));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RewardResilienceOptions>, RewardResilienceOptionsValidator>());
        if (configure is not null)
        {
            builder.Configure(configure);
        }

        return builder;
    }
}
