namespace Vepa.Grpo;

/// <summary>What the managed kernel gathers from one row (sequence); reduced over the rows in row order.</summary>
internal struct ManagedLossRow
{
    /// <summary>Σ_t M·l over the row (not yet normalised).</summary>
    public double LossSum;

    /// <summary>Σ_t M·ρ.</summary>
    public double RatioSum;

    /// <summary>Σ_t M·KL (0 when β = 0).</summary>
    public double KlSum;

    /// <summary>Number of valid tokens with ρ below the clip range and A &lt; 0.</summary>
    public double ClipLow;

    /// <summary>Number of valid tokens with ρ above the clip range (or CISPO cap) and A &gt; 0.</summary>
    public double ClipHigh;

    /// <summary>Number of valid tokens where the dual-clip bound is active.</summary>
    public double DualClip;

    /// <summary>Number of valid tokens whose sampler weight was truncated or masked.</summary>
    public double SamplerCorrected;

    /// <summary>dLoss/dρ_b for the sequence-level ratio (GSPO).</summary>
    public double RatioGradient;

    /// <summary>Σ_t M, the valid tokens of the row.</summary>
    public int Count;

    /// <summary>Whether a valid position of the row holds NaN or infinity, a difference of two inputs overflowed there, or a
    /// float mask value of the row is neither 0 nor 1.</summary>
    public bool InvalidInput;
}
