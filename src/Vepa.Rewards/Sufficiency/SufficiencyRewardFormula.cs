namespace Vepa.Rewards;

/// <summary>How the sufficiency reward combines sufficiency s, honesty h and the repetition penalty.</summary>
public enum SufficiencyRewardFormula
{
    /// <summary>The paper's Eq. 11: R = s · h · γ, in [0, 1].</summary>
    Multiplicative,

    /// <summary>
    /// The paper's appendix variant. Cheating (h = 0) gives <see cref="SufficiencyRewardOptions.SignedCheatingReward"/> (−1) whatever
    /// else holds; otherwise R = (s = 1 ? <see cref="SufficiencyRewardOptions.SignedCorrectReward"/> : 0) −
    /// (repetitive ? <see cref="SufficiencyRewardOptions.SignedRepetitionPenalty"/> : 0), where "repetitive" means the repeated
    /// n-gram ratio exceeds <see cref="SufficiencyRewardOptions.RepetitionThreshold"/> (γ &lt; 1). With the defaults R ∈ {−1, −0.5, 0, 0.5, 1}.
    /// </summary>
    Signed,
}
