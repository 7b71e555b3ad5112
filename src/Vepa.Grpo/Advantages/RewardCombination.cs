namespace Vepa.Grpo;

/// <summary>How several weighted reward components r_k (weights w_k) become one advantage per rollout.</summary>
/// <remarks>
/// A rollout is valid only when every component is non-NaN: a NaN in any component (even one whose weight is 0) makes the
/// rollout's combined reward NaN, so it is left out of every statistic and its advantage is 0.
/// <para>The choice matters only for two or more components. A single reward (one tensor, or one component of any weight w) has
/// nothing to combine: its advantages are those of <see cref="SumThenNormalize"/>, the reward (times w) normalised by
/// <see cref="AdvantageOptions.Normalization"/> alone, with no batch z-score on top, whatever this setting says.</para>
/// </remarks>
public enum RewardCombination
{
    /// <summary>R = Σ_k w_k r_k per rollout, then R is normalised by <see cref="AdvantageOptions.Normalization"/> (TRL, verl). The default.</summary>
    SumThenNormalize,

    /// <summary>
    /// Each component is normalised within its group by <see cref="AdvantageOptions.Normalization"/> (with
    /// <see cref="AdvantageNormalization.GroupStd"/>: z_k = (r_k − mean_g) / (std_g + ε)), the results are summed with the weights,
    /// S = Σ_k w_k z_k, and S is z-scored over the batch: A = (S − mean_batch) / (std_batch + ε), mean and Bessel-corrected std over
    /// the valid rollouts of the whole batch (GDPO-style decoupled normalisation). A component that is constant within a group
    /// contributes 0 to that group; a group whose S is constant is a zero-signal group and gets advantage 0.
    /// </summary>
    NormalizeThenSum,
}
