namespace Vepa.Grpo;

/// <summary>How rewards are turned into advantages within their group.</summary>
/// <remarks>
/// In every mode the statistics of a group are taken over its valid (non-NaN) rewards only, invalid rewards get advantage 0,
/// and a zero-signal group (fewer than 2 valid rewards, or valid rewards that are all equal) gets advantage 0 everywhere.
/// </remarks>
public enum AdvantageNormalization
{
    /// <summary>
    /// GRPO: A_i = (R_i − mean_g) / (std_g + ε), with std_g the Bessel-corrected (n − 1) standard deviation of the group.
    /// TRL <c>scale_rewards="group"</c>, verl GRPO, OpenRLHF <c>group_norm</c>. The default.
    /// </summary>
    GroupStd,

    /// <summary>
    /// A_i = (R_i − mean_g) / (std_batch + ε): the mean per group, the Bessel-corrected standard deviation over every valid
    /// reward of the batch (TRL <c>scale_rewards="batch"</c>).
    /// </summary>
    BatchStd,

    /// <summary>A_i = R_i − mean_g, no scaling (Dr. GRPO; TRL <c>scale_rewards="none"</c>, verl <c>norm_adv_by_std_in_grpo=false</c>).</summary>
    MeanCentered,

    /// <summary>
    /// RLOO: A_i = R_i − (Σ_j R_j − R_i) / (n − 1), the leave-one-out baseline over the n valid rewards of the group;
    /// equivalently n / (n − 1) · (R_i − mean_g). ε is not used.
    /// </summary>
    LeaveOneOut,
}
