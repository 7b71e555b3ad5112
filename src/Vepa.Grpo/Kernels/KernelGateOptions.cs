using TorchSharp;

namespace Vepa.Grpo.Kernels;

/// <summary>Settings of the correctness gate.</summary>
[System.Diagnostics.CodeAnalysis.Experimental(KernelContracts.ExperimentalDiagnosticId)]
public sealed class KernelGateOptions
{
    /// <summary>Gets or sets the device the cases run on.</summary>
    /// <value>The default is <see langword="null"/>: the CPU.</value>
    public torch.Device? Device { get; set; }

    /// <summary>Gets or sets the dtypes every case runs in.</summary>
    /// <value>The default is float64, float32 and bfloat16. Tolerances: 1e-10 in float64; 1e-5 in float32; in bfloat16 and
    /// float16, 1e-5 for values and statistics (computed in float32) and 1e-2 for gradients (returned in the input dtype).</value>
    public IReadOnlyList<torch.ScalarType> Dtypes { get; set; } =
        [torch.ScalarType.Float64, torch.ScalarType.Float32, torch.ScalarType.BFloat16];

    /// <summary>Gets or sets the seed of the random inputs.</summary>
    /// <value>The default is 20261128.</value>
    public int Seed { get; set; } = 20261128;
}
