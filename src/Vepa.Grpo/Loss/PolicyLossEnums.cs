namespace Vepa.Grpo;

/// <summary>The per-token surrogate objective.</summary>
public enum PolicyObjective
{
    /// <summary>PPO clipped surrogate: -min(ρ̂·A, clip(ρ, 1-ε_low, 1+ε_high)·A), with optional δ (TRL) and dual clip (verl).</summary>
    Clip,

    /// <summary>CISPO: -stopgrad(min(ρ, ε_high))·A·log π; <see cref="PolicyLossOptions.EpsilonHigh"/> is an absolute cap (e.g. 5).</summary>
    Cispo,
}

/// <summary>Where the importance ratio is formed.</summary>
public enum RatioLevel
{
    /// <summary>ρ[b,t] = exp(log π − log π_old) per token (GRPO, TRL, verl).</summary>
    Token,

    /// <summary>ρ[b] = exp(Σ_t M·(log π − log π_old) / max(1, Σ_t M)), broadcast over the tokens (GSPO).</summary>
    Sequence,
}

/// <summary>How per-token losses are reduced to a scalar.</summary>
public enum LossAggregation
{
    /// <summary>mean_b( Σ_t M·l / max(1, Σ_t M) ): VEPA Eq. 8, original GRPO, TRL "grpo", verl "seq-mean-token-mean". The default.</summary>
    SequenceMeanTokenMean,

    /// <summary>Σ M·l / max(1, Σ M): TRL "bnpo"/"dapo", verl "token-mean".</summary>
    TokenMean,

    /// <summary>Σ M·l / (B · L_max): Dr. GRPO, TRL "dr_grpo", verl "seq-mean-token-sum-norm".</summary>
    ConstantNormalizer,

    /// <summary>Σ M·l.</summary>
    TokenSum,
}

/// <summary>The KL(π‖π_ref) estimator added per token, times β.</summary>
public enum KlEstimator
{
    /// <summary>k1 = log π − log π_ref.</summary>
    K1,

    /// <summary>k2 = ½ (log π − log π_ref)².</summary>
    K2,

    /// <summary>k3 = exp(log π_ref − log π) − (log π_ref − log π) − 1 (the "low variance" estimator; VEPA uses it with β = 0.01).</summary>
    K3,
}

/// <summary>How sampler-correction weights w = exp(log π_old − log π_sampler) outside [min, max] are treated. The weights multiply the policy term only (β·KL is added afterwards, as in TRL) and carry no gradient; they need <see cref="PolicyLossInputs.OldLogProbs"/>.</summary>
public enum SamplerCorrectionMode
{
    /// <summary>No correction; sampler log-probs are not needed.</summary>
    None,

    /// <summary>w is clamped to [min, max] (truncated importance sampling).</summary>
    Truncate,

    /// <summary>w is set to 0 outside [min, max] (masked importance sampling); inside it is kept as is.</summary>
    Mask,
}
