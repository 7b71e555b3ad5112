using System.ComponentModel.DataAnnotations;

namespace Vepa.Rewards;

/// <summary>Settings of <see cref="SufficiencyRewardModel"/>: the formula and the repetition penalty.</summary>
/// <remarks>
/// <see cref="SufficiencyRewardModel"/> validates and copies the options when it is built; changing them afterwards does not affect it.
/// Instances are not thread-safe.
/// </remarks>
public sealed class SufficiencyRewardOptions
{
    /// <summary>Gets or sets how s, h and the repetition penalty combine.</summary>
    /// <value>The default is <see cref="SufficiencyRewardFormula.Multiplicative"/> (R = s · h · γ, the paper's Eq. 11).</value>
    public SufficiencyRewardFormula Formula { get; set; } = SufficiencyRewardFormula.Multiplicative;

    /// <summary>Gets or sets the n-gram length, in words, of the repeated n-gram ratio.</summary>
    /// <value>The default is 3. Must be in [1, 16].</value>
    [Range(1, RepetitionPenalty.MaxNGramSize)]
    public int RepetitionNGramSize { get; set; } = SufficiencyRewardConstants.DefaultRepetitionNGramSize;

    /// <summary>Gets or sets the repeated n-gram ratio up to which there is no penalty (γ = 1).</summary>
    /// <value>The default is 0.2. Must be in [0, 1).</value>
    [Range(0.0, 1.0, MaximumIsExclusive = true)]
    public double RepetitionThreshold { get; set; } = SufficiencyRewardConstants.DefaultRepetitionThreshold;

    /// <summary>Gets or sets γ at a repeated n-gram ratio of 1 (text that is one n-gram over and over); γ falls linearly to it from the threshold.</summary>
    /// <value>The default is 0.5. Must be in (0, 1]; 1 turns the penalty off.</value>
    [Range(0.0, 1.0, MinimumIsExclusive = true)]
    public double RepetitionFloor { get; set; } = SufficiencyRewardConstants.DefaultRepetitionFloor;

    /// <summary>Gets or sets the reward of honest, sufficient evidence under <see cref="SufficiencyRewardFormula.Signed"/>.</summary>
    /// <value>The default is 1. Must be finite and &gt; 0.</value>
    public double SignedCorrectReward { get; set; } = SufficiencyRewardConstants.DefaultSignedCorrectReward;

    /// <summary>Gets or sets the reward of cheating evidence under <see cref="SufficiencyRewardFormula.Signed"/> (it replaces every other term).</summary>
    /// <value>The default is −1. Must be finite and ≤ 0.</value>
    public double SignedCheatingReward { get; set; } = SufficiencyRewardConstants.DefaultSignedCheatingReward;

    /// <summary>Gets or sets what repetitive honest evidence loses under <see cref="SufficiencyRewardFormula.Signed"/>.</summary>
    /// <value>The default is 0.5. Must be finite and ≥ 0.</value>
    public double SignedRepetitionPenalty { get; set; } = SufficiencyRewardConstants.DefaultSignedRepetitionPenalty;

    /// <summary>Creates a copy of these options.</summary>
    /// <returns>The copy.</returns>
    internal SufficiencyRewardOptions Clone() => (SufficiencyRewardOptions)MemberwiseClone();
}
