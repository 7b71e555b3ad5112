using TorchSharp;

namespace Vepa.Grpo;

/// <summary>The tensors the policy loss reads. B sequences (prompts × G), T completion tokens.</summary>
/// <remarks>
/// <para>The loss never disposes these tensors.</para>
/// <para>NaN or infinite values in <see cref="LogProbs"/>, <see cref="OldLogProbs"/>, <see cref="ReferenceLogProbs"/> (when β &gt; 0),
/// <see cref="SamplerLogProbs"/> (when sampler correction is on) or <see cref="Advantages"/> at valid (masked-in) positions
/// (for [B] advantages: rows with at least one valid token) are rejected with an <see cref="ArgumentException"/> naming the
/// tensor and the first bad position, after the kernel's pass (the check costs no extra device sync); values at masked-out
/// positions are ignored (padding may hold anything) and get a gradient of exactly 0.</para>
/// <para><see cref="OldLogProbs"/>, <see cref="ReferenceLogProbs"/>, <see cref="SamplerLogProbs"/> and <see cref="Advantages"/>
/// are constants: no gradient flows to them. A fully masked batch gives a loss of 0, a zero gradient and zero statistics.</para>
/// </remarks>
public sealed record PolicyLossInputs
{
    /// <summary>Gets log π_θ per token, [B, T], float32/float64 (bf16/fp16 accepted and accumulated in float32). Gradients flow to it.</summary>
    public required torch.Tensor LogProbs { get; init; }

    /// <summary>Gets the per-sequence advantages, [B] (or [B, T] for per-token advantages), any floating dtype.</summary>
    public required torch.Tensor Advantages { get; init; }

    /// <summary>Gets the completion mask, [B, T]: bool, uint8, int32, int64 (HF's <c>completion_mask</c>) or a floating dtype; a non-bool mask must hold only 0 and 1 (other values are rejected with their first position).</summary>
    public required torch.Tensor Mask { get; init; }

    /// <summary>Gets log π_old per token, [B, T]; <see langword="null"/> means on-policy (π_old = stopgrad(π_θ), ρ = 1).</summary>
    public torch.Tensor? OldLogProbs { get; init; }

    /// <summary>Gets log π_ref per token, [B, T]; required when β &gt; 0, ignored when β = 0.</summary>
    public torch.Tensor? ReferenceLogProbs { get; init; }

    /// <summary>Gets the inference engine's log-probs per token, [B, T]; required when sampler correction is on.</summary>
    public torch.Tensor? SamplerLogProbs { get; init; }

    /// <summary>Gets the entropy of π_θ per token, [B, T], floating; required when <see cref="PolicyLossOptions.EntropyCoefficient"/>
    /// &gt; 0 or <see cref="PolicyLossOptions.TopEntropyQuantile"/> &lt; 1, ignored otherwise. The entropy bonus's gradient flows
    /// to it (use <see cref="TokenLogProbs.FromLogits(torch.Tensor, torch.Tensor, out torch.Tensor, double, int?, bool, bool)"/> with
    /// <c>entropyGradient: true</c>); the top-entropy mask reads it detached. NaN or infinity at a valid position is rejected.</summary>
    public torch.Tensor? Entropy { get; init; }

    /// <summary>Gets the per-token policy-term mask the kernels read ([B, T] bool): where false, a valid token's policy term
    /// (after sampler weights) is dropped; the KL term and the denominators are unaffected. Set from
    /// <see cref="Entropy"/> and <see cref="PolicyLossOptions.TopEntropyQuantile"/> by <see cref="EntropyTerms"/>.</summary>
    internal torch.Tensor? PolicyTokenMask { get; init; }
}
