namespace Vepa.Grpo;

/// <summary>The statistics of one optimizer update of a step (one minibatch of one pass), for <see cref="GrpoStepRecord.FirstUpdate"/> and <see cref="GrpoStepRecord.LastUpdate"/>.</summary>
/// <remarks>With μ &gt; 1 or several minibatches the first update runs at ρ = 1 (π_θ = π_old) and the last shows how far the policy moved
/// within the step; the step record's own values are means over all updates.</remarks>
public sealed record GrpoUpdateStatistics
{
    /// <summary>Gets the 0-based pass (of <see cref="GrpoTrainerOptions.Iterations"/>) the update belongs to.</summary>
    public required int Iteration { get; init; }

    /// <summary>Gets the 0-based minibatch of the pass.</summary>
    public required int MiniBatch { get; init; }

    /// <summary>Gets the objective this update optimised: the minibatch's loss (Σ over micro-batches of weight × loss).</summary>
    public required double Loss { get; init; }

    /// <summary>Gets the token-mean KL estimate against the reference (0 when β = 0).</summary>
    public required double Kl { get; init; }

    /// <summary>Gets the fraction of tokens clipped below (ρ &lt; 1 − ε_low, A &lt; 0).</summary>
    public required double ClipFractionLow { get; init; }

    /// <summary>Gets the fraction of tokens clipped above (ρ &gt; 1 + ε_high, A &gt; 0).</summary>
    public required double ClipFractionHigh { get; init; }

    /// <summary>Gets the token-mean importance ratio ρ.</summary>
    public required double MeanRatio { get; init; }

    /// <summary>Gets the total gradient norm before clipping (not finite when the update was skipped).</summary>
    public required double GradNorm { get; init; }

    /// <summary>Gets whether the optimizer step was skipped (non-finite gradient norm).</summary>
    public required bool Skipped { get; init; }

    /// <summary>Gets the unmasked completion tokens of the minibatch.</summary>
    public required long TokenCount { get; init; }
}
