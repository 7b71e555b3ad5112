using BenchmarkDotNet.Attributes;
using TorchSharp;
using Vepa.Grpo;
using static TorchSharp.torch;

namespace Vepa.Benchmarks.LogProbs;

/// <summary>
/// Token log-probs from the model's full logits [1, N + 1, V] (float32), forward + backward to the logits: TRL's slice
/// <c>logits[:, :-1, :]</c> with plain <c>log_softmax</c> + <c>gather</c> (the baseline), the same slice into
/// <see cref="TokenLogProbs.FromLogitsOverwritingLogits(Tensor, Tensor, double, int?, bool)"/> (the slice's backward allocates a
/// zero gradient as large as the full logits), and the full logits with <c>shift: true</c> (the gradient, zero at the last
/// position, is written into the logits' own storage). Each process also records the peak extra native memory.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(TokenLogProbBenchmarkConfig))]
public class TokenLogProbShiftBenchmarks
{
    private Tensor _logits = null!;
    private Tensor _targets = null!;
    private Tensor _upstream = null!;

    /// <summary>Gets or sets the shape "N×V" (N completion tokens, so N + 1 logit positions).</summary>
    [Params("2048x32768")]
    public string Shape { get; set; } = "2048x32768";

    [GlobalSetup(Target = nameof(SlicedPlain))]
    public void SetupPlain() => Setup(nameof(SlicedPlain), SlicedPlainForward);

    [GlobalSetup(Target = nameof(SlicedOverwriting))]
    public void SetupSliced() => Setup(nameof(SlicedOverwriting), SlicedOverwritingForward);

    [GlobalSetup(Target = nameof(ShiftOverwriting))]
    public void SetupShift() => Setup(nameof(ShiftOverwriting), ShiftOverwritingForward);

    [GlobalCleanup]
    public void Cleanup()
    {
        _logits.Dispose();
        _targets.Dispose();
        _upstream.Dispose();
    }

    [Benchmark(Baseline = true)]
    public void SlicedPlain() => Train(SlicedPlainForward);

    [Benchmark]
    public void SlicedOverwriting() => Train(SlicedOverwritingForward);

    [Benchmark]
    public void ShiftOverwriting() => Train(ShiftOverwritingForward);

    private Tensor Slice() => _logits.narrow(1, 0, _logits.shape[1] - 1);

    private Tensor SlicedPlainForward() => Slice().log_softmax(-1).gather(-1, _targets.unsqueeze(-1)).squeeze(-1);

    private Tensor SlicedOverwritingForward() => TokenLogProbs.FromLogitsOverwritingLogits(Slice(), _targets);

    private Tensor ShiftOverwritingForward() => TokenLogProbs.FromLogitsOverwritingLogits(_logits, _targets, shift: true);

    private void Train(Func<Tensor> forward)
    {
        using var scope = NewDisposeScope();
        var loss = (forward() * _upstream).sum();
        _ = autograd.grad([loss], [_logits]);
    }

    private void Setup(string method, Func<Tensor> forward)
    {
        PeakNativeMemory.BeginExactAccounting();
        var (n, v) = PolicyLossBenchmarkData.Parse(Shape);
        using var generator = new Generator(2026UL, CPU);
        _logits = randn([1, n + 1, v], generator: generator).mul_(3.0f).requires_grad_(true);
        _targets = randint(v, [1, n], ScalarType.Int64, generator: generator);
        _upstream = randn([1, n], generator: generator);
        PeakNativeMemory.MeasureAndRecord(nameof(TokenLogProbShiftBenchmarks), method, Shape, forward, () => Train(forward));
    }
}
