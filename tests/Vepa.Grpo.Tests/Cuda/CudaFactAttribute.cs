using Vepa.Grpo.Cuda;

namespace Vepa.Grpo.Tests.Cuda;

/// <summary>A fact that needs a CUDA device with NVRTC; elsewhere it is skipped, and the skip says why.</summary>
public sealed class CudaFactAttribute : FactAttribute
{
    /// <summary>Initializes a new instance of the <see cref="CudaFactAttribute"/> class.</summary>
    public CudaFactAttribute()
    {
        if (!CudaRuntime.Instance.IsAvailable(out string? reason))
        {
            Skip = "Needs a CUDA device with NVRTC (run tools/Vepa.GpuCheck on a GPU machine): " + reason;
        }
    }

    /// <summary>Gets or sets a value indicating whether the fact is about machines without CUDA instead (skipped where CUDA runs).</summary>
    public bool WithoutCuda
    {
        get => _withoutCuda;
        set
        {
            _withoutCuda = value;
            Skip = value
                ? (TorchSharp.torch.cuda.is_available() ? "About machines without CUDA; this one has a CUDA device." : null)
                : Skip;
        }
    }

    private bool _withoutCuda;
}
