using TorchSharp;
using static TorchSharp.torch;

namespace Vepa.Models;

/// <summary>
/// Qwen's rotary position embedding (RoPE, the "rotate half" convention): for position p and frequency
/// <c>θ_i = base^(-2i/d)</c>, <c>cos</c> and <c>sin</c> of <c>p·θ_i</c>, the d/2 frequencies repeated twice along the head dimension.
/// </summary>
/// <remarks>
/// Computed in float32 as Hugging Face does (the inverse frequencies <c>1 / base^(arange(0, d, 2) / d)</c> in float32, then
/// position × frequency), or entirely in float64 when asked for float64. The decoder casts cos/sin to its compute dtype
/// (bf16 weights → bf16 cos/sin, as Hugging Face does). Qwen2-VL's multimodal RoPE builds its own cos/sin of the same shape and passes
/// them to <see cref="QwenDecoder.Forward"/>.
/// </remarks>
public sealed class QwenRotaryEmbedding
{
    /// <summary>Initializes a new instance of the <see cref="QwenRotaryEmbedding"/> class.</summary>
    /// <param name="headDim">The per-head size d, even and &gt; 0.</param>
    /// <param name="theta">The base θ (<c>rope_theta</c>), &gt; 0.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="headDim"/> is not a positive even number, or <paramref name="theta"/> is not positive.</exception>
    public QwenRotaryEmbedding(int headDim, double theta)
    {
        if (headDim <= 0 || headDim % 2 != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(headDim), headDim, "The head size must be a positive even number.");
        }

        if (!(theta > 0))
        {
            throw new ArgumentOutOfRangeException(nameof(theta), theta, "The RoPE base must be positive.");
        }

        HeadDim = headDim;
        Theta = theta;
    }

    /// <summary>Gets the per-head size d.</summary>
    public int HeadDim { get; }

    /// <summary>Gets the base θ.</summary>
    public double Theta { get; }

    /// <summary>Computes the inverse frequencies <c>1 / θ^(2i/d)</c>, i = 0 .. d/2 − 1.</summary>
    /// <param name="dtype">Float32 (as Hugging Face) or Float64.</param>
    /// <param name="device">The device, or <see langword="null"/> for the CPU.</param>
    /// <returns>[d/2].</returns>
    public Tensor InverseFrequencies(ScalarType dtype = ScalarType.Float32, Device? device = null)
    {
        using var scope = NewDisposeScope();
        var exponent = arange(0, HeadDim, 2, ScalarType.Int64, device).to(dtype) / HeadDim;
        var powers = full_like(exponent, Theta).pow(exponent);
        return powers.reciprocal().MoveToOuterDisposeScope();
    }

    /// <summary>Computes cos and sin for position ids.</summary>
    /// <param name="positionIds">Positions [B, L], integer (see <see cref="QwenPositions.FromAttentionMask"/> for padded batches).</param>
    /// <param name="dtype">Float32 (as Hugging Face) or Float64 (for float64 models).</param>
    /// <returns>cos and sin, each [B, L, d], in <paramref name="dtype"/>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="positionIds"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="positionIds"/> is not [B, L], or <paramref name="dtype"/> is neither Float32 nor Float64.</exception>
    public (Tensor Cos, Tensor Sin) Forward(Tensor positionIds, ScalarType dtype = ScalarType.Float32)
    {
        ArgumentNullException.ThrowIfNull(positionIds);
        if (positionIds.dim() != 2)
        {
            throw new ArgumentException($"positionIds must be [B, L]; got [{string.Join(", ", positionIds.shape)}].", nameof(positionIds));
        }

        if (dtype is not (ScalarType.Float32 or ScalarType.Float64))
        {
            throw new ArgumentException($"Rotary embeddings are computed in Float32 or Float64; got {dtype}.", nameof(dtype));
        }

        using var scope = NewDisposeScope();
        var inverse = InverseFrequencies(dtype, positionIds.device);
        var angles = positionIds.to(dtype).unsqueeze(-1) * inverse;
        var both = cat([angles, angles], -1);
        return (both.cos().MoveToOuterDisposeScope(), both.sin().MoveToOuterDisposeScope());
    }
}
