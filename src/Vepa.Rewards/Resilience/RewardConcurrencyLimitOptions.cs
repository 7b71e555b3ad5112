using System.ComponentModel.DataAnnotations;

namespace Vepa.Rewards;

/// <summary>Options of the concurrency-limit stage (<see cref="ConcurrencyLimitRewardModelBuilderExtensions.UseConcurrencyLimit(RewardModelBuilder, RewardConcurrencyLimitOptions)"/>).</summary>
/// <remarks>The stage copies the values when it is added; changing the options afterwards has no effect on it.</remarks>
public sealed class RewardConcurrencyLimitOptions
{
    /// <summary>Gets or sets the largest number of inner calls in flight at once, over all batches the stage scores concurrently.</summary>
    /// <value>The default is 16, suited to a remote inference server. Must be in [1, 4096].</value>
    [Range(1, RewardResilienceConstants.MaxMaxConcurrency)]
    public int MaxConcurrency { get; set; } = RewardResilienceConstants.DefaultMaxConcurrency;

    /// <summary>Gets or sets the largest number of items sent to the inner model in one call; a batch is cut into consecutive chunks of this size.</summary>
    /// <value>The default is 1 (one call per item, as a chat-based blind reader needs). Must be in [1, 4096].</value>
    [Range(1, RewardResilienceConstants.MaxMaxBatchSize)]
    public int MaxBatchSize { get; set; } = RewardResilienceConstants.DefaultMaxBatchSize;
}
