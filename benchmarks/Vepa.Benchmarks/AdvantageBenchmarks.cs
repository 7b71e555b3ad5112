using System.Globalization;
using BenchmarkDotNet.Attributes;
using TorchSharp;
using Vepa.Grpo;

namespace Vepa.Benchmarks;

/// <summary>
/// GRPO group-std advantages on flat float32 rewards [P·G] (ε = 1e-4, TRL's defaults), P × G from 64 × 4 to 4096 × 16:
/// the plain TRL-style tensor composition (baseline) against Vepa's tensor kernel and its managed kernel (serial, threaded, auto).
/// Every method also reads the zero-std group count to the host, as a trainer that logs it must.
/// See docs/benchmarks/advantages.md.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(AdvantageBenchmarkConfig))]
public class AdvantageBenchmarks
{
    private const double Epsilon = 1e-4;

    private torch.Tensor _rewards = null!;
    private int _groupSize;
    private AdvantageOptions _tensor = null!;
    private AdvantageOptions _managedSerial = null!;
    private AdvantageOptions _managedParallel = null!;
    private AdvantageOptions _auto = null!;

    /// <summary>Gets or sets the batch, "P x G".</summary>
    [Params("64x4", "512x8", "4096x16")]
    public string Shape { get; set; } = "64x4";

    [GlobalSetup]
    public void Setup()
    {
        string[] parts = Shape.Split('x');
        int p = int.Parse(parts[0], CultureInfo.InvariantCulture);
        _groupSize = int.Parse(parts[1], CultureInfo.InvariantCulture);
        _rewards = AdvantageBenchmarkData.Rewards(p, _groupSize, seed: 20260101);
        _tensor = Options("tensor", threshold: null);
        _managedSerial = Options("managed", threshold: int.MaxValue);
        _managedParallel = Options("managed", threshold: 0);
        _auto = Options(null, threshold: null);
    }

    [GlobalCleanup]
    public void Cleanup() => _rewards.Dispose();

    /// <summary>TRL's composition: view → mean/std per group → repeat_interleave → (R − mean)/(std + ε), plus the zero-std fraction.</summary>
    [Benchmark(Baseline = true)]
    public double TrlComposition()
    {
        using var scope = torch.NewDisposeScope();
        torch.Tensor grouped = _rewards.view(-1, _groupSize);
        torch.Tensor mean = grouped.mean([1]).repeat_interleave(_groupSize);
        torch.Tensor std = grouped.std(1).repeat_interleave(_groupSize);
        torch.Tensor advantages = _rewards.sub(mean).div(std.add(Epsilon));
        torch.Tensor zeroStd = torch.isclose(std, torch.zeros_like(std));
        double zeroFraction = zeroStd.to(torch.ScalarType.Float32).mean().item<float>();
        GC.KeepAlive(advantages);
        return zeroFraction;
    }

    /// <summary>Vepa's device-agnostic tensor kernel (NaN-aware, exact zeros, counts read in one copy).</summary>
    [Benchmark]
    public int TensorKernel() => Run(_tensor);

    /// <summary>Vepa's managed kernel, one thread.</summary>
    [Benchmark]
    public int ManagedSerial() => Run(_managedSerial);

    /// <summary>Vepa's managed kernel, groups split over threads at every size.</summary>
    [Benchmark]
    public int ManagedParallel() => Run(_managedParallel);

    /// <summary>What <see cref="GroupAdvantages.Compute(torch.Tensor, AdvantageOptions?)"/> picks by default (managed, threaded from 32k rewards).</summary>
    [Benchmark]
    public int Auto() => Run(_auto);

    private int Run(AdvantageOptions options)
    {
        using AdvantageResult result = GroupAdvantages.Compute(_rewards, options);
        return result.ZeroSignalGroupCount;
    }

    private AdvantageOptions Options(string? kernel, int? threshold) => new()
    {
        Epsilon = Epsilon,
        GroupSize = _groupSize,
        Kernel = kernel,
        ManagedParallelThreshold = threshold,
    };
}
