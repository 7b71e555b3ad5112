namespace Vepa.Grpo;

/// <summary>
/// <see cref="PolicyLossOptions"/> under the names TRL and verl users know. Each call returns a new instance the caller may change.
/// docs/kernels.md lists every preset with the source option names; the kernel gate checks each against the float64 reference.
/// </summary>
/// <remarks>A preset sets the loss only. Where a method also changes the advantages (Dr. GRPO: no std division), the remarks
/// say so; set <see cref="GrpoTrainerOptions.Advantages"/> to match.</remarks>
public static class PolicyLossPresets
{
    /// <summary>TRL <c>GRPOConfig(loss_type="grpo", beta=0.04, epsilon=0.2)</c>: clipped token ratio, ε 0.2 / 0.2, β 0.04 with k3, sequence mean of token means (the DeepSeekMath GRPO loss).</summary>
    /// <returns>A new options instance.</returns>
    public static PolicyLossOptions TrlGrpo() => new()
    {
        EpsilonLow = 0.2,
        EpsilonHigh = 0.2,
        Beta = 0.04,
        KlEstimator = KlEstimator.K3,
        Aggregation = LossAggregation.SequenceMeanTokenMean,
    };

    /// <summary>Dr. GRPO (TRL <c>loss_type="dr_grpo"</c>, verl <c>loss_agg_mode="seq-mean-token-sum-norm"</c>): token sums over the constant B × L_max, ε 0.2 / 0.2, β 0.</summary>
    /// <param name="maxCompletionLength">L_max, TRL's <c>max_completion_length</c> (the sampling's MaxNewTokens).</param>
    /// <returns>A new options instance.</returns>
    /// <remarks>Dr. GRPO also drops the std division of the advantages: use <see cref="AdvantageNormalization.MeanCentered"/> (TRL <c>scale_rewards="none"</c>, verl <c>norm_adv_by_std_in_grpo=False</c>).</remarks>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxCompletionLength"/> is less than 1.</exception>
    public static PolicyLossOptions DrGrpo(int maxCompletionLength)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxCompletionLength, 1);
        return new()
        {
            EpsilonLow = 0.2,
            EpsilonHigh = 0.2,
            Beta = 0,
            Aggregation = LossAggregation.ConstantNormalizer,
            MaxCompletionLength = maxCompletionLength,
        };
    }

    /// <summary>DAPO (TRL <c>loss_type="dapo"</c> with <c>epsilon_high=0.28</c>; verl <c>clip_ratio_high=0.28</c>, <c>loss_agg_mode="token-mean"</c>): clip-higher ε 0.2 / 0.28, token mean over the batch, β 0.</summary>
    /// <returns>A new options instance.</returns>
    /// <remarks>DAPO's dynamic sampling is <see cref="ZeroSignalGroupHandling.Resample"/> and its overlong filtering <see cref="GrpoTrainerOptions.MaskTruncatedCompletions"/>.</remarks>
    public static PolicyLossOptions Dapo() => new()
    {
        EpsilonLow = 0.2,
        EpsilonHigh = 0.28,
        Beta = 0,
        Aggregation = LossAggregation.TokenMean,
    };

    /// <summary>GSPO (TRL <c>importance_sampling_level="sequence"</c>, <c>epsilon=3e-4</c>, <c>epsilon_high=4e-4</c>; verl <c>policy_loss.loss_mode="gspo"</c>): the sequence-level (length-normalised) ratio, ε 3e-4 / 4e-4, β 0, sequence mean of token means.</summary>
    /// <returns>A new options instance.</returns>
    public static PolicyLossOptions Gspo() => new()
    {
        RatioLevel = RatioLevel.Sequence,
        EpsilonLow = 3e-4,
        EpsilonHigh = 4e-4,
        Beta = 0,
        Aggregation = LossAggregation.SequenceMeanTokenMean,
    };

    /// <summary>CISPO (TRL <c>loss_type="cispo"</c>, <c>epsilon_high=5.0</c>): the stop-gradient importance weight min(ρ, ε_high) times the token log-prob, token mean, β 0.</summary>
    /// <returns>A new options instance.</returns>
    /// <remarks>For CISPO <see cref="PolicyLossOptions.EpsilonHigh"/> is the absolute cap on ρ (ScaleRL's ε_max); 5.0 is the value TRL's
    /// documentation suggests for <c>cispo</c>. Tune it like <c>epsilon_high</c>.</remarks>
    public static PolicyLossOptions Cispo() => new()
    {
        Objective = PolicyObjective.Cispo,
        EpsilonHigh = 5.0,
        Beta = 0,
        Aggregation = LossAggregation.TokenMean,
    };

    /// <summary>verl GRPO (<c>algorithm.adv_estimator=grpo</c>, <c>actor.use_kl_loss=True</c>, <c>kl_loss_coef=0.001</c>, <c>kl_loss_type=low_var_kl</c>, <c>clip_ratio=0.2</c>, <c>clip_ratio_c=3.0</c>, <c>loss_agg_mode="token-mean"</c>): dual clip 3, β 0.001 with the clamped k3 ("low_var_kl": log-ratio clamped to ±20, KL to [−10, 10]), token mean.</summary>
    /// <returns>A new options instance.</returns>
    /// <remarks>verl's GRPO advantages use ε = 1e-6 (<see cref="AdvantageOptions.Epsilon"/>).</remarks>
    public static PolicyLossOptions VerlGrpo() => new()
    {
        EpsilonLow = 0.2,
        EpsilonHigh = 0.2,
        DualClip = 3.0,
        Beta = 0.001,
        KlEstimator = KlEstimator.K3,
        KlLogRatioClamp = 20,
        KlValueClamp = 10,
        Aggregation = LossAggregation.TokenMean,
    };
}
