using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Vepa.Rewards;

/// <summary>Adds the recommended resilience stages to a reward pipeline in the recommended order.</summary>
public static class ResilienceRewardModelBuilderExtensions
{
    /// <summary>Adds the configuration circuit breaker, caching, retry, concurrency limit, timeout and an optional caller's Polly pipeline, outermost first.</summary>
    /// <param name="builder">The pipeline builder.</param>
    /// <param name="options">
    /// The options, copied now; <see langword="null"/> to take <see cref="RewardResilienceOptions"/> from the service provider when the
    /// pipeline is built (registered with <c>AddRewardResilienceOptions</c>), or the defaults when none are registered.
    /// </param>
    /// <returns>The builder.</returns>
    /// <remarks>
    /// <para>The order, outermost first, and why:</para>
    /// <list type="number">
    /// <item>Configuration circuit breaker (when <see cref="RewardResilienceOptions.EnableConfigurationCircuitBreaker"/>): sees whole batches and throws
    /// <see cref="RewardConfigurationException"/> when a share of one fails with <see cref="RewardFailureKind.Configuration"/>.</item>
    /// <item>Caching (when <see cref="RewardResilienceOptions.EnableCaching"/>): duplicates are removed before anything else, so a group of
    /// identical evidences costs one reader call and is retried once, not once per copy.</item>
    /// <item>Retry (when <see cref="RewardRetryOptions.MaxRetries"/> &gt; 0): sits outside the concurrency limit, so a retry re-enters the limit
    /// like any other call and no slot is held during backoff.</item>
    /// <item>Concurrency limit: at most <see cref="RewardConcurrencyLimitOptions.MaxConcurrency"/> inner calls in flight, over all batches.</item>
    /// <item>Timeout (innermost, per call): the clock starts once a call holds its slot, so time spent queueing behind the limit never
    /// times a call out, and the bound does not depend on the batch size. A timed-out call becomes transient failures, which the retry
    /// stage retries.</item>
    /// <item>The caller's <see cref="RewardResilienceOptions.Pipeline"/>, when set, around each inner call.</item>
    /// </list>
    /// <para>Logging and metrics are separate: add <c>UseLogging</c> / <c>UseMetrics</c> before this call to observe whole batches, or after
    /// it (nearer the reader) to observe each reader call.</para>
    /// </remarks>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="options"/> is invalid; the message lists every problem.</exception>
    /// <exception cref="OptionsValidationException">When the pipeline is built: the registered options are invalid.</exception>
    public static RewardModelBuilder UseResilience(this RewardModelBuilder builder, RewardResilienceOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        if (options is not null)
        {
            RewardResilienceOptions copy = Copy(options, nameof(options));
            return builder.Use((inner, services) => Compose(inner, copy, services));
        }

        return builder.Use((inner, services) =>
        {
            RewardResilienceOptions? registered = services.GetService<IOptionsMonitor<RewardResilienceOptions>>()?.Get(Options.DefaultName);
            return Compose(inner, Copy(registered ?? new RewardResilienceOptions(), nameof(options)), services);
        });
    }

    /// <summary>Adds caching, retry, concurrency limit and timeout, outermost first, with options configured by <paramref name="configure"/>.</summary>
    /// <param name="builder">The pipeline builder.</param>
    /// <param name="configure">Changes the default options; run now.</param>
    /// <returns>The builder.</returns>
    /// <remarks>See <see cref="UseResilience(RewardModelBuilder, RewardResilienceOptions?)"/> for the order and why.</remarks>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> or <paramref name="configure"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">The configured options are invalid; the message lists every problem.</exception>
    public static RewardModelBuilder UseResilience(this RewardModelBuilder builder, Action<RewardResilienceOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        var options = new RewardResilienceOptions();
        configure(options);
        return builder.UseResilience(options);
    }

    private static RewardResilienceOptions Copy(RewardResilienceOptions options, string paramName)
    {
        RewardOptionsValidation.ThrowIfInvalid(options, new RewardResilienceOptionsValidator(), paramName);
        return new RewardResilienceOptions
        {
            EnableConfigurationCircuitBreaker = options.EnableConfigurationCircuitBreaker,
            ConfigurationCircuitBreaker = ConfigurationCircuitBreakerRewardModelBuilderExtensions.Copy(options.ConfigurationCircuitBreaker, paramName),
            Pipeline = options.Pipeline,
            EnableCaching = options.EnableCaching,
            Caching = new RewardCachingOptions { MaxCachedEntries = options.Caching.MaxCachedEntries },
            Retry = RetryRewardModelBuilderExtensions.Copy(options.Retry, paramName),
            ConcurrencyLimit = new RewardConcurrencyLimitOptions
            {
                MaxConcurrency = options.ConcurrencyLimit.MaxConcurrency,
                MaxBatchSize = options.ConcurrencyLimit.MaxBatchSize,
            },
            Timeout = options.Timeout,
        };
    }

    private static IRewardModel Compose(IRewardModel inner, RewardResilienceOptions options, IServiceProvider services)
    {
        TimeProvider timeProvider = services.GetService<TimeProvider>() ?? TimeProvider.System;
        IRewardModel model = inner;
        if (options.Pipeline is not null)
        {
            model = new ResiliencePipelineRewardModel(model, options.Pipeline);
        }

        model = new TimeoutRewardModel(model, options.Timeout, timeProvider);
        model = new ConcurrencyLimitingRewardModel(model, options.ConcurrencyLimit.MaxConcurrency, options.ConcurrencyLimit.MaxBatchSize);
        if (options.Retry.MaxRetries > 0)
        {
            model = RetryRewardModelBuilderExtensions.Create(model, options.Retry, services);
        }

        if (options.EnableCaching)
        {
            model = new CachingRewardModel(model, options.Caching.MaxCachedEntries);
        }

        if (options.EnableConfigurationCircuitBreaker)
        {
            model = new ConfigurationCircuitBreakerRewardModel(model, options.ConfigurationCircuitBreaker, timeProvider);
        }

        return model;
    }
}
