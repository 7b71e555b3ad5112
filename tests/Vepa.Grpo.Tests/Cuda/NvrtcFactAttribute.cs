using Vepa.Grpo.Cuda;

namespace Vepa.Grpo.Tests.Cuda;

/// <summary>A fact that needs NVRTC (no GPU): skipped, with the reason, where libnvrtc does not load.</summary>
public sealed class NvrtcFactAttribute : FactAttribute
{
    /// <summary>Initializes a new instance of the <see cref="NvrtcFactAttribute"/> class.</summary>
    public NvrtcFactAttribute()
    {
        var probe = new CudaRuntime(new CudaCubinCache(Path.GetTempPath()));
        if (!probe.IsNvrtcAvailable(out string? reason))
        {
            Skip = "Needs NVRTC (a CUDA toolkit or PyTorch's nvidia-cuda-nvrtc; VEPA_NVRTC_PATH): " + reason;
        }
    }
}
