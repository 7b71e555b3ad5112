using BenchmarkDotNet.Attributes;
using TorchSharp;
using Vepa;
using Vepa.Grpo;

namespace Vepa.Benchmarks;

/// <summary>
/// What <see cref="PolicyLoss.Compute"/> spends before a kernel runs: checking the options and finding the kernel
/// <see cref="PolicyLossOptions.Kernel"/> names. The baseline is the full reflective validation every call made before the
/// kernel registry became the one way to choose (<see cref="OptionsValidation.ThrowIfInvalid"/>); <c>ValidatedKernel</c> is
/// what a call pays now (the settings compared with those last validated, the kernel found then). For scale, a whole small
/// loss (forward and backward, 8×64 float32) with the managed kernel chosen by name.
/// See docs/benchmarks.md, "Policy-loss kernel selection".
/// </summary>
[Config(typeof(PolicyLossBenchmarkConfig))]
public class PolicyLossSelectionBenchmarks
{
    private PolicyLossOptions _options = null!;
    private PolicyLossInputs _inputs = null!;

    [GlobalSetup]
    public void Setup()
    {
        _options = PolicyLossBenchmarkData.VepaOptions("managed");
        _inputs = PolicyLossBenchmarkData.Create(8, 64, seed: 20261204);
    }

    [GlobalCleanup]
    public void Cleanup() => PolicyLossBenchmarkData.Dispose(_inputs);

    /// <summary>Every attribute, enum and cross-field rule of the options through reflection (each call's cost before).</summary>
    [Benchmark(Baseline = true)]
    public void FullValidation() => OptionsValidation.ThrowIfInvalid(_options);

    /// <summary>The options checked against the settings last validated, and the kernel they name (each call's cost now).</summary>
    [Benchmark]
    public object ValidatedKernel() => _options.ValidatedKernel();

    /// <summary>A whole small loss with its backward: the scale the per-call overhead is weighed against.</summary>
    [Benchmark]
    public float ManagedLoss8x64()
    {
        using var scope = torch.NewDisposeScope();
        using PolicyLossResult result = PolicyLoss.Compute(_inputs, _options);
        torch.Tensor gradient = torch.autograd.grad([result.Loss], [_inputs.LogProbs])[0];
        GC.KeepAlive(gradient);
        return result.Loss.item<float>();
    }
}
