namespace Vepa.Rewards;

/// <summary>Adds de-duplication of identical requests to a reward pipeline.</summary>
public static class CachingRewardModelBuilderExtensions
{
    /// <summary>Scores identical requests once per batch (and, when configured, reuses scored results across batches).</summary>
    /// <param name="builder">The pipeline builder.</param>
    /// <param name="options">The options, copied now; <see langword="null"/> for the default (within a batch only).</param>
    /// <returns>The builder.</returns>
    /// <remarks>
    /// <para>
    /// Requests are identical when their question, gold answer, choices and evidence are equal ordinally (<see cref="RewardRequest.Id"/>
    /// and <see cref="RewardRequest.Metadata"/> are ignored). A group of G identical evidences therefore costs one reader call, and every
    /// member gets the same result, failures included. See <see cref="RewardCachingOptions"/> for why nothing is kept across batches by default.
    /// </para>
    /// <para>Place it outermost, so that retries and the concurrency limit see each distinct request once.</para>
    /// </remarks>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="options"/> is invalid; the message lists every problem.</exception>
    public static RewardModelBuilder UseCaching(this RewardModelBuilder builder, RewardCachingOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        options ??= new RewardCachingOptions();
        RewardOptionsValidation.ThrowIfInvalid(options, crossFieldValidator: null, nameof(options));
        int maxCachedEntries = options.MaxCachedEntries;
        return builder.Use(inner => new CachingRewardModel(inner, maxCachedEntries));
    }
}
