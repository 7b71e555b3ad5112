using TorchSharp;

namespace Vepa.Grpo;

/// <summary>
/// The tensors the fused linear policy loss reads: the last hidden states and the LM head instead of per-token log-probs.
/// B sequences, T completion tokens, H hidden size, V vocabulary.
/// </summary>
/// <remarks>
/// <para>The loss never disposes these tensors. The constant tensors (<see cref="Targets"/>, <see cref="Advantages"/>,
/// <see cref="Mask"/>, <see cref="OldLogProbs"/>, <see cref="ReferenceLogProbs"/>, <see cref="SamplerLogProbs"/>) follow the
/// rules of <see cref="PolicyLossInputs"/>: the same shapes, dtypes, masks (bool, uint8, int32, int64 or floating 0/1) and
/// NaN policy.</para>
/// <para>Completions may start at different positions in different rows: the mask says which positions are completion
/// tokens. Positions whose mask is 0 in every row of a chunk still pay for their logits; trim them when they are many.</para>
/// </remarks>
public sealed record FusedLinearPolicyLossInputs
{
    /// <summary>Gets the last hidden states, [B, T, H] (or [B, T + 1, H] with <see cref="Shift"/>), float16, bfloat16, float32 or float64. Gradients flow to it.</summary>
    public required torch.Tensor Hidden { get; init; }

    /// <summary>Gets the LM-head weight, [V, H], in the dtype and on the device of <see cref="Hidden"/>. Gradients flow to it.</summary>
    public required torch.Tensor Weight { get; init; }

    /// <summary>Gets the LM-head bias, [V], or <see langword="null"/> for none. Gradients flow to it.</summary>
    public torch.Tensor? Bias { get; init; }

    /// <summary>Gets the completion token ids, [B, T], int64 or int32, each in [0, V).</summary>
    public required torch.Tensor Targets { get; init; }

    /// <summary>Gets the per-sequence advantages, [B] (or [B, T] for per-token advantages), any floating dtype.</summary>
    public required torch.Tensor Advantages { get; init; }

    /// <summary>Gets the completion mask, [B, T]: bool, uint8, int32, int64 (HF's <c>completion_mask</c>) or floating, holding only 0 and 1.</summary>
    public required torch.Tensor Mask { get; init; }

    /// <summary>Gets log π_old per token, [B, T]; <see langword="null"/> means on-policy (ρ = 1).</summary>
    public torch.Tensor? OldLogProbs { get; init; }

    /// <summary>Gets log π_ref per token, [B, T]; required when β &gt; 0.</summary>
    public torch.Tensor? ReferenceLogProbs { get; init; }

    /// <summary>Gets the inference engine's log-probs per token, [B, T]; required when sampler correction is on.</summary>
    public torch.Tensor? SamplerLogProbs { get; init; }

    /// <summary>Gets the sampling temperature τ &gt; 0; the logits are divided by it.</summary>
    /// <value>The default is 1.</value>
    public double Temperature { get; init; } = 1.0;

    /// <summary>Gets the token positions per chunk; <see langword="null"/> chooses 32 MiB of float32 logits per chunk, at least 128 positions.</summary>
    /// <value>The default is <see langword="null"/>. With <see cref="RatioLevel.Sequence"/> or per-sequence sampler correction a chunk holds whole rows (at least one), since a row's ratio needs all its tokens.</value>
    public int? ChunkSize { get; init; }

    /// <summary>Gets a value indicating whether <see cref="Hidden"/> holds T + 1 positions of which the last is ignored (position t predicts <c>Targets[:, t]</c>).</summary>
    /// <value>The default is <see langword="false"/>.</value>
    public bool Shift { get; init; }
}
