using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;

namespace Vepa.Rewards;

/// <summary>Adds retries of failed items to a reward pipeline.</summary>
public static class RetryRewardModelBuilderExtensions
{
    /// <summary>Re-scores the items whose results failed transiently (or match <see cref="RewardRetryOptions.ShouldRetry"/>), with exponential backoff.</summary>
    /// <param name="builder">The pipeline builder.</param>
    /// <param name="options">The options, copied now; <see langword="null"/> for the defaults (3 retries from 1 s, doubling, at most 30 s, with jitter).</param>
    /// <returns>The builder.</returns>
    /// <remarks>
    /// <para>
    /// Only the items that should be retried are sent again, together in one call per attempt; the other items keep their results. An
    /// item that still fails after more than one attempt keeps its last failure, with " (after N attempts)" appended to its reason.
    /// An exception thrown by the inner model is not retried.
    /// </para>
    /// <para>
    /// Each re-sent item adds one to the <see cref="RewardMetricNames.Retries"/> counter of the <see cref="RewardMetricNames.MeterName"/>
    /// meter (from the service provider's <see cref="IMeterFactory"/>, else a static meter). Delays use the service provider's
    /// <see cref="TimeProvider"/>, or <see cref="TimeProvider.System"/>. Place the stage outside a concurrency limit so that no slot is held
    /// while it waits.
    /// </para>
    /// </remarks>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="options"/> is invalid; the message lists every problem.</exception>
    public static RewardModelBuilder UseRetry(this RewardModelBuilder builder, RewardRetryOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        RewardRetryOptions copy = Copy(options ?? new RewardRetryOptions(), nameof(options));
        return builder.Use((inner, services) => Create(inner, copy, services));
    }

    internal static RewardRetryOptions Copy(RewardRetryOptions options, string paramName)
    {
        RewardOptionsValidation.ThrowIfInvalid(options, new RewardRetryOptionsValidator(), paramName);
        return new RewardRetryOptions
        {
            MaxRetries = options.MaxRetries,
            BaseDelay = options.BaseDelay,
            MaxDelay = options.MaxDelay,
            UseJitter = options.UseJitter,
            ShouldRetry = options.ShouldRetry,
        };
    }

    internal static RetryingRewardModel Create(IRewardModel inner, RewardRetryOptions options, IServiceProvider services) => new(
        inner,
        options,
        services.GetService<TimeProvider>() ?? TimeProvider.System,
        RewardMetrics.Create(services.GetService<IMeterFactory>()));
}
