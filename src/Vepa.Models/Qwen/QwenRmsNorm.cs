using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Vepa.Models;

/// <summary>Qwen's RMSNorm: <c>weight * (x / sqrt(mean(x²) + eps))</c>, computed in float32 (float64 for float64 inputs) and cast back before the weight, as Hugging Face does.</summary>
/// <remarks>Its one parameter is named <c>weight</c>, as in Hugging Face checkpoints.</remarks>
public sealed class QwenRmsNorm : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006, SA1307, SA1309 // Field names are the Hugging Face parameter names (TorchSharp registers fields by name).
    private readonly Parameter weight;
#pragma warning restore IDE1006, SA1307, SA1309
    private readonly double _eps;

    /// <summary>Initializes a new instance of the <see cref="QwenRmsNorm"/> class with a weight of ones.</summary>
    /// <param name="size">The normalised (last) dimension, &gt; 0.</param>
    /// <param name="eps">The epsilon added to the mean square, &gt; 0.</param>
    /// <param name="device">The device of the weight, or <see langword="null"/> for the CPU.</param>
    /// <param name="dtype">The dtype of the weight.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="size"/> or <paramref name="eps"/> is not positive.</exception>
    public QwenRmsNorm(long size, double eps, Device? device = null, ScalarType dtype = ScalarType.Float32)
        : base(nameof(QwenRmsNorm))
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(size);
        if (!(eps > 0))
        {
            throw new ArgumentOutOfRangeException(nameof(eps), eps, "eps must be positive.");
        }

        _eps = eps;
        weight = new Parameter(ones(size, dtype, device));
        RegisterComponents();
    }

    /// <summary>Gets the scale weight [size].</summary>
    public Parameter Weight => weight;

    /// <summary>Normalises the last dimension of <paramref name="input"/>.</summary>
    /// <param name="input">Any shape [..., size].</param>
    /// <returns>The normalised, scaled tensor, in the promoted dtype of the input and the weight (the input's, for matching dtypes).</returns>
    public override Tensor forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        using var scope = NewDisposeScope();
        var inputType = input.dtype;
        var h = inputType == ScalarType.Float64 ? input : input.to(ScalarType.Float32);
        var variance = h.square().mean([-1], keepdim: true);
        h = h * rsqrt(variance + _eps);
        return (weight * h.to(inputType)).MoveToOuterDisposeScope();
    }
}
