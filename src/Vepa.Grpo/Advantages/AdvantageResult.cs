using TorchSharp;

namespace Vepa.Grpo;

/// <summary>The advantages of a batch of groups and what a trainer logs about them.</summary>
/// <remarks>
/// The caller owns <see cref="Advantages"/> and <see cref="ZeroSignalGroups"/>: dispose the result, or let the dispose scope
/// that was open during the call do it. Neither tensor requires grad.
/// </remarks>
public sealed class AdvantageResult : IDisposable
{
    /// <summary>Initializes a new instance of the <see cref="AdvantageResult"/> class.</summary>
    /// <param name="advantages">The advantages, shaped and typed like the rewards.</param>
    /// <param name="zeroSignalGroups">The [P] bool flags.</param>
    /// <param name="groupSize">G.</param>
    /// <param name="zeroSignalGroupCount">The number of set flags.</param>
    /// <param name="excludedRewardCount">The number of NaN rewards.</param>
    internal AdvantageResult(torch.Tensor advantages, torch.Tensor zeroSignalGroups, int groupSize, int zeroSignalGroupCount, int excludedRewardCount)
    {
        Advantages = advantages;
        ZeroSignalGroups = zeroSignalGroups;
        GroupCount = checked((int)zeroSignalGroups.shape[0]);
        GroupSize = groupSize;
        ZeroSignalGroupCount = zeroSignalGroupCount;
        ExcludedRewardCount = excludedRewardCount;
    }

    /// <summary>Gets the advantages: same shape ([P, G] or [P·G]), dtype and device as the rewards.</summary>
    /// <value>Exactly 0 for NaN rewards and for every rollout of a zero-signal group.</value>
    public torch.Tensor Advantages { get; }

    /// <summary>Gets a [P] bool tensor on the rewards' device, <see langword="true"/> for each zero-signal group.</summary>
    /// <value>
    /// A group carries no signal when it has fewer than 2 valid (non-NaN) rewards or its valid rewards are all equal (std exactly 0).
    /// A trainer can drop these groups and resample them (DAPO dynamic sampling).
    /// </value>
    public torch.Tensor ZeroSignalGroups { get; }

    /// <summary>Gets P, the number of groups.</summary>
    public int GroupCount { get; }

    /// <summary>Gets G, the number of rollouts per group.</summary>
    public int GroupSize { get; }

    /// <summary>Gets the number of zero-signal groups (set entries of <see cref="ZeroSignalGroups"/>).</summary>
    public int ZeroSignalGroupCount { get; }

    /// <summary>Gets the fraction of zero-signal groups, <see cref="ZeroSignalGroupCount"/> / <see cref="GroupCount"/> (TRL's "frac_reward_zero_std").</summary>
    public double ZeroSignalFraction => (double)ZeroSignalGroupCount / GroupCount;

    /// <summary>Gets the number of NaN rewards, left out of every statistic and given advantage 0.</summary>
    /// <value>With several components: the number of rollouts where at least one component is NaN.</value>
    public int ExcludedRewardCount { get; }

    /// <inheritdoc />
    public void Dispose()
    {
        Advantages.Dispose();
        ZeroSignalGroups.Dispose();
    }
}
