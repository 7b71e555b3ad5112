using BenchmarkDotNet.Attributes;
using TorchSharp;
using Vepa.Grpo;
using Vepa.Grpo.Tests;

namespace Vepa.Benchmarks;

/// <summary>
/// The GRPO policy loss, forward + backward (the loss and dLoss/dLogProbs through autograd), float32, VEPA's configuration
/// (token clip ε = 0.2, k3 KL with β = 0.01, sequence-mean of token-mean), B×T from 16×256 to 256×2048: the plain TRL-style
/// TorchSharp composition with autograd (baseline, tests/Vepa.Grpo.Tests/Loss/ReferencePolicyLoss.cs) against Vepa's fused
/// tensor kernel and its managed single-pass kernel. Every method also produces the statistics a trainer logs.
/// See docs/benchmarks/loss.md.
/// </summary>
[Config(typeof(PolicyLossBenchmarkConfig))]
public class PolicyLossBenchmarks
{
    private PolicyLossInputs _inputs = null!;
    private PolicyLossOptions _reference = null!;
    private PolicyLossOptions _fused = null!;
    private PolicyLossOptions _managed = null!;

    /// <summary>Gets or sets the batch, "B x T".</summary>
    [Params("16x256", "64x1024", "256x2048")]
    public string Shape { get; set; } = "64x1024";

    [GlobalSetup]
    public void Setup()
    {
        (int b, int t) = PolicyLossBenchmarkData.Parse(Shape);
        _inputs = PolicyLossBenchmarkData.Create(b, t, seed: 20261126);
        _reference = PolicyLossBenchmarkData.VepaOptions("auto");
        _fused = PolicyLossBenchmarkData.VepaOptions("fused-tensor");
        _managed = PolicyLossBenchmarkData.VepaOptions("managed");
    }

    [GlobalCleanup]
    public void Cleanup() => PolicyLossBenchmarkData.Dispose(_inputs);

    /// <summary>The plain composition (exp, clamp, minimum, KL, masked means) with autograd's backward; statistics read with .item().</summary>
    [Benchmark(Baseline = true)]
    public float Reference()
    {
        using var scope = torch.NewDisposeScope();
        (torch.Tensor loss, PolicyLossStatistics statistics) = ReferencePolicyLoss.Compute(_inputs, _reference);
        torch.Tensor gradient = torch.autograd.grad([loss], [_inputs.LogProbs])[0];
        GC.KeepAlive(gradient);
        return loss.item<float>() + (float)statistics.MeanKl;
    }

    /// <summary>Vepa's fused tensor kernel: one autograd function of device-agnostic tensor ops.</summary>
    [Benchmark]
    public float FusedTensor() => Run(_fused);

    /// <summary>Vepa's managed kernel: one vectorised, row-parallel sweep over the CPU memory.</summary>
    [Benchmark]
    public float Managed() => Run(_managed);

    private float Run(PolicyLossOptions options)
    {
        using var scope = torch.NewDisposeScope();
        using PolicyLossResult result = PolicyLoss.Compute(_inputs, options);
        torch.Tensor gradient = torch.autograd.grad([result.Loss], [_inputs.LogProbs])[0];
        GC.KeepAlive(gradient);
        return result.Loss.item<float>() + (float)result.Statistics.MeanKl;
    }
}
