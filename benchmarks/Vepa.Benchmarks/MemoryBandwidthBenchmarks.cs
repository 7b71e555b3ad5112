using BenchmarkDotNet.Attributes;
using TorchSharp;
using Vepa.Grpo;

namespace Vepa.Benchmarks;

/// <summary>
/// The managed policy-loss kernel at B×T = 256×2048 and 1024×4096 (float32, VEPA's configuration) against the machine's memory bandwidth,
/// measured in the same run by a 256 MiB tensor copy (<c>dst.copy_(src)</c>, which reads and writes 256 MiB: 512 MiB moved).
/// The "Bandwidth" column is the bytes a method must move over its mean time; "Of copy BW" divides that by the copy's.
/// For the loss the bytes are every input read once plus the gradient written once (<see cref="PolicyLossBenchmarkData.BytesMoved"/>:
/// 17·B·T + 4·B = 8.9 MB and 71 MB). See docs/benchmarks/loss.md.
/// </summary>
[Config(typeof(MemoryBandwidthBenchmarkConfig))]
public class MemoryBandwidthBenchmarks
{
    private const long CopyElements = 64L * 1024 * 1024;
    private const long CopyBytes = CopyElements * sizeof(float);

    private torch.Tensor _source = null!;
    private torch.Tensor _destination = null!;
    private PolicyLossInputs _inputs = null!;
    private PolicyLossOptions _managed = null!;

    /// <summary>Gets or sets the loss shape "B×T": 256×2048 moves 8.9 MB (it fits in a server CPU's L3 cache), 1024×4096
    /// moves 71 MB (the 64 MB criterion), 4096×8192 moves 570 MB (more than a 300 MiB L3: it streams from DRAM like the copy).</summary>
    [Params("256x2048", "1024x4096", "4096x8192")]
    public string Shape { get; set; } = "256x2048";

    /// <summary>The bytes a benchmark method must move (read + write) per call; 0 for an unknown method.</summary>
    /// <param name="method">The benchmark method's name.</param>
    /// <param name="shape">The loss shape "B×T".</param>
    /// <returns>The byte count.</returns>
    public static long BytesMoved(string method, string shape)
    {
        var (b, t) = PolicyLossBenchmarkData.Parse(shape);
        return method switch
        {
            nameof(Copy) => 2 * CopyBytes,
            nameof(ManagedLoss) or nameof(ManagedLossWithBackward) => (17L * b * t) + (4L * b),
            _ => 0,
        };
    }

    [GlobalSetup]
    public void Setup()
    {
        _source = torch.rand(CopyElements);
        _destination = torch.zeros(CopyElements); // written once here, so the copy never pays first-touch page faults
        var (b, t) = PolicyLossBenchmarkData.Parse(Shape);
        _inputs = PolicyLossBenchmarkData.Create(b, t, seed: 20261126);
        _managed = PolicyLossBenchmarkData.VepaOptions("managed");
        long expected = PolicyLossBenchmarkData.BytesMoved(_inputs);
        long assumed = BytesMoved(nameof(ManagedLoss), Shape);
        if (expected != assumed)
        {
            throw new InvalidOperationException($"The loss inputs move {expected} bytes, not the {assumed} the columns assume.");
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _source.Dispose();
        _destination.Dispose();
        PolicyLossBenchmarkData.Dispose(_inputs);
    }

    /// <summary>A 256 MiB float32 copy: the bandwidth reference (it reads and writes 256 MiB).</summary>
    [Benchmark(Baseline = true)]
    public void Copy() => _destination.copy_(_source);

    /// <summary>The managed kernel's call: the one sweep that computes the loss, the statistics and writes dLoss/dLogProbs.</summary>
    [Benchmark]
    public float ManagedLoss()
    {
        using var scope = torch.NewDisposeScope();
        using PolicyLossResult result = PolicyLoss.Compute(_inputs, _managed);
        return result.Loss.item<float>();
    }

    /// <summary>The same plus autograd's backward to LogProbs (what a training step pays), the gradient disposed as a training step's scope would.</summary>
    [Benchmark]
    public float ManagedLossWithBackward()
    {
        using var scope = torch.NewDisposeScope();
        using PolicyLossResult result = PolicyLoss.Compute(_inputs, _managed);
        using torch.Tensor gradient = torch.autograd.grad([result.Loss], [_inputs.LogProbs])[0];
        return result.Loss.item<float>();
    }
}
