using Microsoft.Extensions.DependencyInjection;

namespace Vepa.Rewards;

/// <summary>Adds the configuration circuit breaker to a reward pipeline.</summary>
public static class ConfigurationCircuitBreakerRewardModelBuilderExtensions
{
    /// <summary>Fails loudly when the pipeline is misconfigured: throws <see cref="RewardConfigurationException"/> once a share of a batch fails with
    /// <see cref="RewardFailureKind.Configuration"/> (HTTP 401, 403, 404, a 400 not about the context length), and fails fast for a while after.</summary>
    /// <param name="builder">The pipeline builder.</param>
    /// <param name="options">The options, copied now; <see langword="null"/> for the defaults (half of a batch, 30 s open).</param>
    /// <returns>The builder.</returns>
    /// <remarks>
    /// A misconfigured reader would otherwise turn a whole batch into NaNs (excluded: training silently stops learning) or, worse, penalties.
    /// Place it outermost, so that it sees whole batches. <see cref="ResilienceRewardModelBuilderExtensions.UseResilience(RewardModelBuilder, RewardResilienceOptions?)"/>
    /// adds it. The clock is the service provider's <see cref="TimeProvider"/>, or <see cref="TimeProvider.System"/>.
    /// </remarks>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="options"/> is invalid; the message lists every problem.</exception>
    public static RewardModelBuilder UseConfigurationCircuitBreaker(this RewardModelBuilder builder, RewardCircuitBreakerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        RewardCircuitBreakerOptions copy = Copy(options ?? new RewardCircuitBreakerOptions(), nameof(options));
        return builder.Use((inner, services) => new ConfigurationCircuitBreakerRewardModel(inner, copy, services.GetService<TimeProvider>() ?? TimeProvider.System));
    }

    internal static RewardCircuitBreakerOptions Copy(RewardCircuitBreakerOptions options, string paramName)
    {
        RewardOptionsValidation.ThrowIfInvalid(options, crossFieldValidator: null, paramName);
        return new RewardCircuitBreakerOptions
        {
            FailureShare = options.FailureShare,
            MinimumFailures = options.MinimumFailures,
            BreakDuration = options.BreakDuration,
            PenalizedReplyShare = options.PenalizedReplyShare,
            MinimumPenalizedReplies = options.MinimumPenalizedReplies,
        };
    }
}
