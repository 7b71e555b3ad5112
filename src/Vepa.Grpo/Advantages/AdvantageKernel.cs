namespace Vepa.Grpo;

/// <summary>Which implementation computes the advantages (internal: tests and benchmarks pin one).</summary>
internal enum AdvantageKernel
{
    /// <summary>The managed kernel when every input is a contiguous CPU float32/float64 tensor, otherwise the tensor kernel.</summary>
    Auto,

    /// <summary>A short sequence of device-agnostic tensor ops (CPU, CUDA, any floating dtype).</summary>
    Tensor,

    /// <summary>A single-pass managed kernel over contiguous CPU float32/float64 tensors; refuses other inputs.</summary>
    Managed,
}
