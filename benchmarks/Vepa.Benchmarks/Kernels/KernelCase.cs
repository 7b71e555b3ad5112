namespace Vepa.Benchmarks.Kernels;

/// <summary>One timed case: a kernel of a group on a shape, with its cost model.</summary>
/// <param name="Group">"loss" or "logprobs".</param>
/// <param name="Kernel">The kernel's name.</param>
/// <param name="Shape">The shape as given on the command line.</param>
/// <param name="Dtype">The dtype's name.</param>
/// <param name="Bytes">The fewest bytes any implementation must move per call (inputs read once, gradient written once).</param>
/// <param name="Flops">A nominal floating-point operation count per call (see docs/benchmarks.md, "Kernel harness").</param>
/// <param name="Run">One call: the kernel's forward, the gradient through autograd, disposal (and a device sync on CUDA).</param>
internal sealed record KernelCase(string Group, string Kernel, string Shape, string Dtype, long Bytes, double Flops, Action Run)
{
    /// <summary>Gets the key BenchmarkDotNet's parameter carries.</summary>
    public string Key => $"{Group}/{Kernel}/{Shape}";

    public override string ToString() => Key;
}
