using BenchmarkDotNet.Attributes;
using TorchSharp;
using Vepa.Benchmarks.LogProbs;
using Vepa.Grpo;
using static TorchSharp.torch;

namespace Vepa.Benchmarks.Loss;

/// <summary>
/// The GRPO policy loss from hidden states [B, T, H] and an LM head [V, H] (H = 1024, V = 32768), forward + backward
/// (gradients w.r.t. hidden and weight), VEPA's options (clip 0.2, k3 KL with β = 0.01, sequence-mean of token-mean),
/// completions starting at different positions: matmul + log_softmax + gather + <see cref="PolicyLoss.Compute"/> (the
/// baseline, TRL's naive path) against <see cref="FusedLinearPolicyLoss.Compute"/>, which never forms the logits and
/// computes the gradients in its forward pass. float32 and bf16. Each process also records the peak extra native memory.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(TokenLogProbBenchmarkConfig))]
public class FusedLinearPolicyLossBenchmarks
{
    private const int HiddenSize = 1024;
    private const int Vocabulary = 32768;

    private FusedLinearPolicyLossInputs _inputs = null!;
    private PolicyLossOptions _options = null!;

    /// <summary>Gets or sets the batch shape as "B×T".</summary>
    [Params("2x1024", "8x1024")]
    public string Shape { get; set; } = "2x1024";

    /// <summary>Gets or sets the dtype of the hidden states and the weight.</summary>
    [Params("float32", "bf16")]
    public string Dtype { get; set; } = "float32";

    [GlobalSetup(Target = nameof(MatmulLogProbsLoss))]
    public void SetupPlain() => Setup(nameof(MatmulLogProbsLoss), Plain);

    [GlobalSetup(Target = nameof(FusedLinearLoss))]
    public void SetupFused() => Setup(nameof(FusedLinearLoss), Fused);

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var t in new[] { _inputs.Hidden, _inputs.Weight, _inputs.Targets, _inputs.Advantages, _inputs.Mask, _inputs.OldLogProbs!, _inputs.ReferenceLogProbs! })
        {
            t.Dispose();
        }
    }

    /// <summary>matmul → log_softmax → gather → the loss (Auto kernel) → autograd.grad to hidden and weight.</summary>
    [Benchmark(Baseline = true)]
    public void MatmulLogProbsLoss() => Train(Plain);

    /// <summary>The fused linear policy loss → autograd.grad to hidden and weight.</summary>
    [Benchmark]
    public void FusedLinearLoss() => Train(Fused);

    private Tensor Plain()
    {
        var logits = _inputs.Hidden.matmul(_inputs.Weight.t());
        var logProbs = logits.to(ScalarType.Float32).log_softmax(-1).gather(-1, _inputs.Targets.unsqueeze(-1)).squeeze(-1);
        var result = PolicyLoss.Compute(
            new PolicyLossInputs
            {
                LogProbs = logProbs,
                Advantages = _inputs.Advantages,
                Mask = _inputs.Mask,
                OldLogProbs = _inputs.OldLogProbs,
                ReferenceLogProbs = _inputs.ReferenceLogProbs,
            },
            _options);
        return result.Loss;
    }

    private Tensor Fused() => FusedLinearPolicyLoss.Compute(_inputs, _options).Loss;

    private void Train(Func<Tensor> forward)
    {
        using var scope = NewDisposeScope();
        _ = autograd.grad([forward()], [_inputs.Hidden, _inputs.Weight]);
    }

    private void Setup(string method, Func<Tensor> forward)
    {
        PeakNativeMemory.BeginExactAccounting();
        var (b, t) = PolicyLossBenchmarkData.Parse(Shape);
        var dtype = Dtype == "bf16" ? ScalarType.BFloat16 : ScalarType.Float32;
        using var generator = new Generator(2026UL, CPU);
        var hidden = randn([b, t, HiddenSize], generator: generator).to(dtype).requires_grad_(true);
        var weight = randn([Vocabulary, HiddenSize], generator: generator).mul_((float)(2.0 / Math.Sqrt(HiddenSize))).to(dtype).requires_grad_(true);
        var targets = randint(Vocabulary, [b, t], ScalarType.Int64, generator: generator);

        // Completions start at different positions: row i's first 64·i positions are prompt padding.
        var mask = ones([b, t], ScalarType.Bool);
        for (int row = 0; row < b; row++)
        {
            mask[row].narrow(0, 0, Math.Min(t - 1, 64 * row)).fill_(false);
        }

        Tensor logProbs;
        using (no_grad())
        {
            logProbs = hidden.matmul(weight.t()).to(ScalarType.Float32).log_softmax(-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1);
        }

        _inputs = new FusedLinearPolicyLossInputs
        {
            Hidden = hidden,
            Weight = weight,
            Targets = targets,
            Advantages = randn([b], generator: generator),
            Mask = mask,
            OldLogProbs = logProbs + (randn([b, t], generator: generator) * 0.1f),
            ReferenceLogProbs = logProbs + (randn([b, t], generator: generator) * 0.2f),
        };
        _options = PolicyLossBenchmarkData.VepaOptions("auto");
        PeakNativeMemory.MeasureAndRecord(nameof(FusedLinearPolicyLossBenchmarks), method, $"{Shape} {Dtype}", forward, () => Train(forward));
    }
}
