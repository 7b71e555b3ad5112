using BenchmarkDotNet.Attributes;
using TorchSharp;
using Vepa.Grpo;
using static TorchSharp.torch;

namespace Vepa.Benchmarks.LogProbs;

/// <summary>
/// Token log-probs from float32 hidden states [B, T, H] and an LM-head weight [V, H] (H = 1024), forward+backward
/// (gradients w.r.t. hidden and weight): matmul + log_softmax + gather (the baseline) against
/// <see cref="TokenLogProbs.FromHiddenStates(Tensor, Tensor, Tensor, Tensor?, double, int?, bool)"/>, which never forms the
/// logits. Each process also measures the peak extra native memory of one forward and one forward+backward call.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(TokenLogProbBenchmarkConfig))]
public class TokenLogProbFusedBenchmarks
{
    /// <summary>The hidden size H.</summary>
    public const int HiddenSize = 1024;

    private Tensor _hidden = null!;
    private Tensor _weight = null!;
    private Tensor _targets = null!;
    private Tensor _upstream = null!;

    /// <summary>Gets or sets the shape (B·T tokens, vocabulary).</summary>
    [ParamsSource(nameof(Shapes))]
    public LogProbShape Shape { get; set; } = new(2048, 32768);

    /// <summary>Gets the shapes (see <see cref="LogProbShape.ForHiddenStates"/>).</summary>
    public static IEnumerable<LogProbShape> Shapes => LogProbShape.ForHiddenStates();

    [GlobalSetup(Target = nameof(MatmulLogSoftmaxGather))]
    public void SetupPlain() => Setup(nameof(MatmulLogSoftmaxGather), Plain);

    [GlobalSetup(Target = nameof(FusedLinearKernel))]
    public void SetupFused() => Setup(nameof(FusedLinearKernel), Fused);

    [GlobalCleanup]
    public void Cleanup()
    {
        _hidden.Dispose();
        _weight.Dispose();
        _targets.Dispose();
        _upstream.Dispose();
    }

    [Benchmark(Baseline = true)]
    public void MatmulLogSoftmaxGather() => Train(Plain);

    [Benchmark]
    public void FusedLinearKernel() => Train(Fused);

    private Tensor Plain() => _hidden.matmul(_weight.t()).log_softmax(-1).gather(-1, _targets.unsqueeze(-1)).squeeze(-1);

    private Tensor Fused() => TokenLogProbs.FromHiddenStates(_hidden, _weight, _targets);

    private void Train(Func<Tensor> forward)
    {
        using var scope = NewDisposeScope();
        var loss = (forward() * _upstream).sum();
        _ = autograd.grad([loss], [_hidden, _weight]);
    }

    private void Setup(string method, Func<Tensor> forward)
    {
        PeakNativeMemory.BeginExactAccounting();
        using var generator = new Generator(2026UL, CPU);
        _hidden = randn([Shape.Batch, Shape.Time, HiddenSize], generator: generator).requires_grad_(true);
        _weight = randn([Shape.Vocabulary, HiddenSize], generator: generator).mul_((float)(2.0 / Math.Sqrt(HiddenSize))).requires_grad_(true);
        _targets = randint(Shape.Vocabulary, [Shape.Batch, Shape.Time], ScalarType.Int64, generator: generator);
        _upstream = randn([Shape.Batch, Shape.Time], generator: generator);

        PeakNativeMemory.MeasureAndRecord(nameof(TokenLogProbFusedBenchmarks), method, Shape.ToString(), forward, () => Train(forward));
        Console.WriteLine($"// {Shape}, H = {HiddenSize}: float32 logits would be {Shape.LogitsMiB:N1} MiB");
    }
}
