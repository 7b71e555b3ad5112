namespace Vepa.Grpo.Tests.Cuda;

/// <summary>A fact that runs the CUDA kernel sources under <see cref="CudaCpuEmulator"/>; skipped, with the reason, without g++.</summary>
public sealed class EmulatorFactAttribute : FactAttribute
{
    /// <summary>Initializes a new instance of the <see cref="EmulatorFactAttribute"/> class.</summary>
    public EmulatorFactAttribute()
    {
        if (CudaCpuEmulator.Compiler is null)
        {
            Skip = "Needs a host C++ compiler (g++ on the PATH, Linux) to run the CUDA kernel sources on the CPU emulator.";
        }
    }
}
