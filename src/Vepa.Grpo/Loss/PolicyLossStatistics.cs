namespace Vepa.Grpo;

/// <summary>What trainers log about a policy-loss call. All fractions and means are over the valid (masked-in) tokens.</summary>
/// <param name="ClipFractionLow">Fraction of tokens with ρ &lt; 1 − ε_low and A &lt; 0 (the clipped branch is active below).</param>
/// <param name="ClipFractionHigh">Fraction of tokens with ρ &gt; 1 + ε_high and A &gt; 0 (for CISPO: ρ &gt; cap, any A; CISPO's low fraction is 0).</param>
/// <param name="DualClipFraction">Fraction of tokens where verl's dual clip bound −A·c is active (A &lt; 0 and the clipped loss is strictly above −A·c); 0 when dual clip is off.</param>
/// <param name="MeanRatio">Token-mean of ρ (after the log-ratio clamp, before δ; at sequence level each token counts its sequence's ρ).</param>
/// <param name="MeanKl">Token-mean of the KL estimator after its clamps (0 when β = 0).</param>
/// <param name="SamplerCorrectionFraction">Fraction of tokens whose sampler weight was truncated or masked (0 when off).</param>
/// <param name="TokenCount">Number of valid tokens, Σ M.</param>
/// <param name="EntropyBonus">The entropy term subtracted from the loss, c · agg(H) (<see cref="PolicyLossOptions.EntropyCoefficient"/>); 0 when off.</param>
/// <param name="EntropyMaskedFraction">Fraction of valid tokens whose policy term the top-entropy mask dropped (<see cref="PolicyLossOptions.TopEntropyQuantile"/>); 0 when off.</param>
public sealed record PolicyLossStatistics(
    double ClipFractionLow,
    double ClipFractionHigh,
    double DualClipFraction,
    double MeanRatio,
    double MeanKl,
    double SamplerCorrectionFraction,
    long TokenCount,
    double EntropyBonus = 0.0,
    double EntropyMaskedFraction = 0.0);
