namespace Vepa.Grpo.Tests.Cuda;

/// <summary>A theory that runs the CUDA kernel sources under <see cref="CudaCpuEmulator"/>; skipped, with the reason, without g++.</summary>
public sealed class EmulatorTheoryAttribute : TheoryAttribute
{
    /// <summary>Initializes a new instance of the <see cref="EmulatorTheoryAttribute"/> class.</summary>
    public EmulatorTheoryAttribute()
    {
        if (CudaCpuEmulator.Compiler is null)
        {
            Skip = "Needs a host C++ compiler (g++ on the PATH, Linux) to run the CUDA kernel sources on the CPU emulator.";
        }
    }

    /// <summary>Gets or sets a value indicating whether the theory is a long one that runs only with
    /// <c>VEPA_CUDA_LONG_TESTS=1</c> (about a minute on two cores), and is skipped with that reason otherwise.</summary>
    public bool Long
    {
        get => _long;
        set
        {
            _long = value;
            if (value && Skip is null && Environment.GetEnvironmentVariable("VEPA_CUDA_LONG_TESTS") != "1")
            {
                Skip = "Long (about a minute): set VEPA_CUDA_LONG_TESTS=1 to run the emulated gate in float64 and bfloat16 too.";
            }
        }
    }

    private bool _long;
}
