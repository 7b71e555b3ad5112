using BenchmarkDotNet.Attributes;
using TorchSharp;
using Vepa.Benchmarks.LogProbs;
using Vepa.Grpo;
using static TorchSharp.torch;

namespace Vepa.Benchmarks;

/// <summary>
/// Token log-probs from float32 logits [B, T, V], forward+backward (gradient w.r.t. the logits): the plain
/// log_softmax + gather path (TRL's naive one, the baseline) against <see cref="TokenLogProbs.FromLogits(Tensor, Tensor, double, int?, bool)"/>
/// with its default chunk. Each process also measures the peak extra native memory of one forward and one
/// forward+backward call (columns "Peak native ...").
/// </summary>
[MemoryDiagnoser]
[Config(typeof(TokenLogProbBenchmarkConfig))]
public class TokenLogProbBenchmarks
{
    private Tensor _logits = null!;
    private Tensor _targets = null!;
    private Tensor _upstream = null!;

    /// <summary>Gets or sets the shape (B·T tokens, vocabulary).</summary>
    [ParamsSource(nameof(Shapes))]
    public LogProbShape Shape { get; set; } = new(2048, 32768);

    /// <summary>Gets the shapes that fit a 24 GiB machine (see <see cref="LogProbShape.ForLogits"/>).</summary>
    public static IEnumerable<LogProbShape> Shapes => LogProbShape.ForLogits();

    [GlobalSetup(Target = nameof(PlainLogSoftmaxGather))]
    public void SetupPlain() => Setup(nameof(PlainLogSoftmaxGather), Plain);

    [GlobalSetup(Target = nameof(ChunkedKernel))]
    public void SetupChunked() => Setup(nameof(ChunkedKernel), Chunked);

    [GlobalSetup(Target = nameof(ChunkedKernelOverwritingLogits))]
    public void SetupOverwriting() => Setup(nameof(ChunkedKernelOverwritingLogits), Overwriting);

    [GlobalCleanup]
    public void Cleanup()
    {
        _logits.Dispose();
        _targets.Dispose();
        _upstream.Dispose();
    }

    [Benchmark(Baseline = true)]
    public void PlainLogSoftmaxGather() => Train(Plain);

    [Benchmark]
    public void ChunkedKernel() => Train(Chunked);

    /// <summary>The chunked kernel whose backward writes the gradient into the logits' storage (the logits are an intermediate).</summary>
    [Benchmark]
    public void ChunkedKernelOverwritingLogits() => Train(Overwriting);

    private Tensor Plain() => _logits.log_softmax(-1).gather(-1, _targets.unsqueeze(-1)).squeeze(-1);

    private Tensor Chunked() => TokenLogProbs.FromLogits(_logits, _targets);

    private Tensor Overwriting() => TokenLogProbs.FromLogitsOverwritingLogits(_logits, _targets);

    private void Train(Func<Tensor> forward)
    {
        using var scope = NewDisposeScope();
        var loss = (forward() * _upstream).sum();
        _ = autograd.grad([loss], [_logits]);
    }

    private void Setup(string method, Func<Tensor> forward)
    {
        PeakNativeMemory.BeginExactAccounting();
        using var generator = new Generator(2026UL, CPU);
        _logits = randn([Shape.Batch, Shape.Time, Shape.Vocabulary], generator: generator).mul_(3.0f).requires_grad_(true);
        _targets = randint(Shape.Vocabulary, [Shape.Batch, Shape.Time], ScalarType.Int64, generator: generator);
        _upstream = randn([Shape.Batch, Shape.Time], generator: generator);

        PeakNativeMemory.MeasureAndRecord(nameof(TokenLogProbBenchmarks), method, Shape.ToString(), forward, () => Train(forward));
        Console.WriteLine($"// {Shape}: float32 logits are {Shape.LogitsMiB:N1} MiB");
    }
}
