using BenchmarkDotNet.Attributes;
using TorchSharp;
using Vepa.Grpo;

namespace Vepa.Benchmarks;

/// <summary>
/// The cost of the entropy terms in the managed policy-loss kernel, forward + backward, float32, VEPA's configuration
/// (<see cref="PolicyLossBenchmarkData.VepaOptions"/>): the default (<see cref="PolicyLossOptions.EntropyCoefficient"/> 0,
/// <see cref="PolicyLossOptions.TopEntropyQuantile"/> 1, the baseline) against verl's entropy bonus (c = 0.01), TRL's
/// top-entropy mask (ρ = 0.2) and both. The entropy [B, T] is an input here (its cost in the log-prob kernel is not
/// included); the bonus's gradient w.r.t. it is computed with the log-probs' gradient. LibTorch runs on one intra-op thread.
/// See docs/benchmarks.md, "Entropy terms in the policy loss".
/// </summary>
[Config(typeof(PolicyLossBenchmarkConfig))]
public class PolicyLossEntropyBenchmarks
{
    private PolicyLossInputs _inputs = null!;
    private PolicyLossOptions _default = null!;
    private PolicyLossOptions _bonus = null!;
    private PolicyLossOptions _top = null!;
    private PolicyLossOptions _both = null!;

    /// <summary>Gets or sets the batch, "B x T".</summary>
    [Params("64x1024", "256x2048")]
    public string Shape { get; set; } = "64x1024";

    [GlobalSetup]
    public void Setup()
    {
        // One LibTorch intra-op thread, as the trainer-step suite: on a shared 2-core machine two spinning threads stall the
        // small tensor ops of the entropy terms whenever one is preempted (the managed kernel uses .NET threads only).
        torch.set_num_threads(1);
        (int b, int t) = PolicyLossBenchmarkData.Parse(Shape);
        var inputs = PolicyLossBenchmarkData.Create(b, t, seed: 20261204);
        var generator = new torch.Generator(20261205UL);
        using (var scope = torch.NewDisposeScope())
        {
            var entropy = (torch.rand(b, t, generator: generator) * 3f).masked_fill(inputs.Mask.logical_not(), 0);
            _inputs = inputs with { Entropy = entropy.contiguous().requires_grad_().DetachFromDisposeScope() };
        }

        _default = PolicyLossBenchmarkData.VepaOptions("managed");
        _bonus = PolicyLossBenchmarkData.VepaOptions("managed");
        _bonus.EntropyCoefficient = 0.01;
        _top = PolicyLossBenchmarkData.VepaOptions("managed");
        _top.TopEntropyQuantile = 0.2;
        _both = _bonus.Clone();
        _both.TopEntropyQuantile = 0.2;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _inputs.Entropy?.Dispose();
        PolicyLossBenchmarkData.Dispose(_inputs);
    }

    /// <summary>The default: no entropy terms (the entropy input is ignored).</summary>
    [Benchmark(Baseline = true)]
    public float Default() => Run(_default, withEntropyGradient: false);

    /// <summary>verl's entropy bonus, c = 0.01: the kernel, then − c · agg(H) in tensor ops, and dLoss/dH.</summary>
    [Benchmark]
    public float EntropyBonus() => Run(_bonus, withEntropyGradient: true);

    /// <summary>TRL's top-entropy mask, ρ = 0.2: the threshold torch.quantile would give (two kthvalue selections and a lerp) over the valid entropies, then the masked sweep.</summary>
    [Benchmark]
    public float TopEntropyQuantile() => Run(_top, withEntropyGradient: false);

    /// <summary>Both terms.</summary>
    [Benchmark]
    public float Both() => Run(_both, withEntropyGradient: true);

    private float Run(PolicyLossOptions options, bool withEntropyGradient)
    {
        using var scope = torch.NewDisposeScope();
        using PolicyLossResult result = PolicyLoss.Compute(_inputs, options);
        var gradients = torch.autograd.grad([result.Loss], withEntropyGradient ? [_inputs.LogProbs, _inputs.Entropy!] : [_inputs.LogProbs]);
        GC.KeepAlive(gradients);
        return result.Loss.item<float>() + (float)result.Statistics.EntropyMaskedFraction;
    }
}
