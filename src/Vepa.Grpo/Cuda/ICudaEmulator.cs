namespace Vepa.Grpo.Cuda;

/// <summary>
/// A stand-in for the CUDA driver that runs the same kernel sources on the CPU (tests only; see
/// <see cref="CudaRuntime.Emulator"/>). Kernels then take CPU tensors, and everything else (argument packing, autograd,
/// statistics) runs as on the GPU.
/// </summary>
internal interface ICudaEmulator
{
    /// <summary>Gets the block size the emulator compiles the kernels for (<c>VEPA_THREADS</c>); the hosts launch blocks of it.</summary>
    int ThreadsPerBlock { get; }

    /// <summary>Builds (or reuses) the module of <paramref name="file"/> with <paramref name="defines"/> and returns the kernel's entry.</summary>
    IntPtr Function(string file, string kernel, string[] defines);

    /// <summary>Runs a kernel over a 1-D grid of 1-D blocks with the parameter table of <see cref="CudaArguments"/>.</summary>
    void Launch(IntPtr function, long gridX, int blockX, IntPtr parameters);
}
