using System.ComponentModel.DataAnnotations;

namespace Vepa.Rewards;

/// <summary>Options of the caching stage (<see cref="CachingRewardModelBuilderExtensions.UseCaching(RewardModelBuilder, RewardCachingOptions?)"/>).</summary>
/// <remarks>
/// <para>
/// Within one batch, identical requests (same question, gold answer, choices and evidence, compared ordinally; <see cref="RewardRequest.Id"/>
/// and <see cref="RewardRequest.Metadata"/> are ignored) are always scored once and the result is given to each of them, failures included.
/// </para>
/// <para>
/// Across batches nothing is cached by default (<see cref="MaxCachedEntries"/> = 0): a remote reader is not guaranteed to be
/// deterministic (sampling settings, batched inference), a reader or prompt may be swapped while the pipeline lives, and in GRPO the
/// evidence of a new step rarely repeats an earlier one exactly, so an unbounded cross-batch cache would mostly grow. Set
/// <see cref="MaxCachedEntries"/> to keep the most recently used scored results (never failures) across batches, for example when the
/// policy often emits the same degenerate text.
/// </para>
/// </remarks>
public sealed class RewardCachingOptions
{
    /// <summary>Gets or sets how many scored results are kept across batches (least recently used evicted first); 0 caches within a batch only.</summary>
    /// <value>The default is 0. Must be in [0, 10 000 000].</value>
    [Range(0, RewardResilienceConstants.MaxMaxCachedEntries)]
    public int MaxCachedEntries { get; set; } = RewardResilienceConstants.DefaultMaxCachedEntries;
}
