using Vepa.Grpo.Kernels;

namespace Vepa.Benchmarks.Kernels;

/// <summary>Where the <c>kernels</c> command picks up kernels of your own (docs/benchmarks.md, "Plug in your own kernel").</summary>
internal static class UserKernels
{
    /// <summary>Adds your kernels to the registry the harness gates and times, e.g. <c>registry.Add(new MyKernels.TrlStylePolicyLossKernel());</c>.</summary>
    /// <param name="registry">The registry, already holding Vepa's kernels and the baselines.</param>
    public static void Register(KernelRegistry registry) => ArgumentNullException.ThrowIfNull(registry);
}
