namespace Vepa.Rewards;

/// <summary>Adds a concurrency limit to a reward pipeline.</summary>
public static class ConcurrencyLimitRewardModelBuilderExtensions
{
    /// <summary>Fans each batch out into one call per item to the inner model, with at most <paramref name="maxConcurrency"/> calls in flight.</summary>
    /// <param name="builder">The pipeline builder.</param>
    /// <param name="maxConcurrency">The largest number of inner calls in flight at once, in [1, 4096]. The default, 16, suits a remote inference server.</param>
    /// <returns>The builder.</returns>
    /// <remarks>
    /// The limit holds over every batch the built model scores concurrently. Results keep request order; cancellation reaches waiting and
    /// in-flight calls; when one call throws, the others are cancelled and the exception propagates.
    /// </remarks>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxConcurrency"/> is outside [1, 4096].</exception>
    public static RewardModelBuilder UseConcurrencyLimit(this RewardModelBuilder builder, int maxConcurrency = RewardResilienceConstants.DefaultMaxConcurrency)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxConcurrency, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxConcurrency, RewardResilienceConstants.MaxMaxConcurrency);
        return builder.Use(inner => new ConcurrencyLimitingRewardModel(inner, maxConcurrency, RewardResilienceConstants.DefaultMaxBatchSize));
    }

    /// <summary>Fans each batch out into chunks of at most <see cref="RewardConcurrencyLimitOptions.MaxBatchSize"/> items, with at most <see cref="RewardConcurrencyLimitOptions.MaxConcurrency"/> calls in flight.</summary>
    /// <param name="builder">The pipeline builder.</param>
    /// <param name="options">The options; the values are copied now.</param>
    /// <returns>The builder.</returns>
    /// <remarks>See <see cref="UseConcurrencyLimit(RewardModelBuilder, int)"/>.</remarks>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> or <paramref name="options"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="options"/> is invalid; the message lists every problem.</exception>
    public static RewardModelBuilder UseConcurrencyLimit(this RewardModelBuilder builder, RewardConcurrencyLimitOptions options)
    {
        ArgumentNullException.ThrowIfNull(builder);
        RewardOptionsValidation.ThrowIfInvalid(options, crossFieldValidator: null, nameof(options));
        int maxConcurrency = options.MaxConcurrency;
        int maxBatchSize = options.MaxBatchSize;
        return builder.Use(inner => new ConcurrencyLimitingRewardModel(inner, maxConcurrency, maxBatchSize));
    }
}
