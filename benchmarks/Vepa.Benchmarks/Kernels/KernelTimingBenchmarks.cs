using BenchmarkDotNet.Attributes;

namespace Vepa.Benchmarks.Kernels;

/// <summary>
/// The harness's timed method: BenchmarkDotNet runs it in process (so kernels registered at run time are visible) once
/// per case the harness prepared. Not meant for <c>--filter</c> from the switcher; run <c>kernels</c> instead.
/// </summary>
public class KernelTimingBenchmarks
{
    /// <summary>Gets the case keys the harness prepared.</summary>
    public static IEnumerable<string> Keys => KernelHarnessState.Cases.Keys;

    /// <summary>Gets or sets the case.</summary>
    [ParamsSource(nameof(Keys))]
    public string Case { get; set; } = "";

    /// <summary>One call of the case: forward, gradient through autograd, disposal.</summary>
    [Benchmark]
    public void Call() => KernelHarnessState.Cases[Case].Run();
}

/// <summary>The cases of the current <c>kernels</c> run, shared with the in-process benchmark.</summary>
internal static class KernelHarnessState
{
    public static Dictionary<string, KernelCase> Cases { get; } = [];
}
