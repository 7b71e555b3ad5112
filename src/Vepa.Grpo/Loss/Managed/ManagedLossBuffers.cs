namespace Vepa.Grpo;

/// <summary>Addresses of the tensors' memory (contiguous CPU storage) for the managed kernel; zero for an absent tensor.</summary>
/// <param name="LogProbs">log π_θ, [B, T].</param>
/// <param name="OldLogProbs">log π_old, [B, T], or zero (on-policy).</param>
/// <param name="ReferenceLogProbs">log π_ref, [B, T], or zero.</param>
/// <param name="SamplerLogProbs">The sampler's log-probs, [B, T], or zero.</param>
/// <param name="Advantages">Advantages, [B] or [B, T].</param>
/// <param name="Mask">The mask, [B, T] (bytes or the log-probs' dtype).</param>
/// <param name="Gradient">The gradient output, [B, T], or zero when no gradient is needed.</param>
/// <param name="PolicyTokenMask">The policy-term mask, [B, T] bool, or zero when every token keeps its policy term.</param>
internal readonly record struct ManagedLossBuffers(
    nint LogProbs,
    nint OldLogProbs,
    nint ReferenceLogProbs,
    nint SamplerLogProbs,
    nint Advantages,
    nint Mask,
    nint Gradient,
    nint PolicyTokenMask = 0);
