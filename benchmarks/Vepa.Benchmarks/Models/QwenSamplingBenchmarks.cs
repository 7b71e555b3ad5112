using BenchmarkDotNet.Attributes;
using TorchSharp;
using Vepa.Grpo;
using Vepa.Models;
using static TorchSharp.torch;

namespace Vepa.Benchmarks.Models;

/// <summary>
/// Greedy decoding of N new tokens after an 8-token prompt (batch 1) on the Qwen2.5-0.5B-shaped 2-layer model: recomputing the
/// whole sequence at every token (baseline) against incremental decoding with <see cref="KeyValueCache"/>. Each step projects only
/// the last position onto the 151936-token head.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(QwenBenchmarkConfig))]
public class QwenSamplingBenchmarks
{
    private const int PromptLength = 8;
    private QwenForCausalLM _model = null!;
    private Tensor _prompt = null!;

    [Params(4, 16)]
    public int NewTokens { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _model = QwenBenchmarkShape.CreateModel();
        _model.eval();
        _prompt = randint(0, QwenBenchmarkShape.Vocabulary, [1, PromptLength], ScalarType.Int64);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _prompt.Dispose();
        _model.Dispose();
    }

    [Benchmark(Baseline = true)]
    public long Recompute()
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var ids = _prompt;
        for (int t = 0; t < NewTokens; t++)
        {
            var hidden = _model.Forward(ids);
            var next = _model.ComputeLogits(hidden.narrow(1, hidden.shape[1] - 1, 1)).argmax(-1);
            ids = cat([ids, next], 1);
        }

        return ids[0, -1].item<long>();
    }

    [Benchmark]
    public long KeyValueCached()
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        using var cache = new KeyValueCache();
        var input = _prompt;
        Tensor next = input;
        for (int t = 0; t < NewTokens; t++)
        {
            var hidden = _model.Forward(input, cache: cache);
            next = _model.ComputeLogits(hidden.narrow(1, hidden.shape[1] - 1, 1)).argmax(-1);
            input = next;
        }

        return next[0, 0].item<long>();
    }
}
