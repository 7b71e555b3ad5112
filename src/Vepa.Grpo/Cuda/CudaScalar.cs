using TorchSharp;

namespace Vepa.Grpo.Cuda;

/// <summary>The dtype codes the kernels are compiled for (the <c>VEPA_SCALAR</c> and <c>VEPA_MASK</c> defines).</summary>
internal static class CudaScalar
{
    /// <summary>The <c>VEPA_SCALAR</c> code of a data dtype: 0 float64, 1 float32, 2 bfloat16; −1 when unsupported.</summary>
    public static int Of(torch.ScalarType dtype) => dtype switch
    {
        torch.ScalarType.Float64 => 0,
        torch.ScalarType.Float32 => 1,
        torch.ScalarType.BFloat16 => 2,
        _ => -1,
    };

    /// <summary>The <c>VEPA_MASK</c> code of a mask dtype: 0 bool, 1 int64, 2 int32, 3 float32, 4 float64, 5 uint8; −1 when unsupported.</summary>
    public static int OfMask(torch.ScalarType dtype) => dtype switch
    {
        torch.ScalarType.Bool => 0,
        torch.ScalarType.Byte => 5,
        torch.ScalarType.Int64 => 1,
        torch.ScalarType.Int32 => 2,
        torch.ScalarType.Float32 => 3,
        torch.ScalarType.Float64 => 4,
        _ => -1,
    };

    /// <summary>The accumulation dtype of a data dtype: float64 for float64, float32 otherwise.</summary>
    public static torch.ScalarType Accumulation(torch.ScalarType dtype) => dtype == torch.ScalarType.Float64 ? torch.ScalarType.Float64 : torch.ScalarType.Float32;
}
