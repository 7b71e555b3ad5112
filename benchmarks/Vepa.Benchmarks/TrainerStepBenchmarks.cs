using BenchmarkDotNet.Attributes;
using TorchSharp;
using Vepa.Benchmarks.LogProbs;
using Vepa.Benchmarks.Trainer;
using Vepa.Grpo;
using Vepa.Grpo.Tests.Training;
using static TorchSharp.torch;

namespace Vepa.Benchmarks;

/// <summary>
/// One GRPO step of <see cref="GrpoTrainer"/> for a small causal policy (vocabulary 100, hidden 64, one attention layer;
/// 8 prompts × G = 4, up to 16 new tokens, μ = 2, β = 0.01), with the KV cache (baseline) and with recomputation; sampling
/// alone both ways; and the GRPO kernels of one step alone (advantages, policy loss forward + backward on the step's shapes),
/// the part of "bookkeeping" that runs inside the update phase. Each step's phase split is printed ("// step split").
/// LibTorch runs on one intra-op thread.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(TrainerStepBenchmarkConfig))]
public class TrainerStepBenchmarks
{
    private const int Vocabulary = 100, Hidden = 64, Prompts = 8, Group = 4, MaxNewTokens = 16;
    private readonly StepSplit _split = new();
    private TorchPolicy _policy = null!;
    private GrpoTrainer _trainer = null!;
    private WordCountRewardModel _reward = null!;
    private PolicyPrompt[] _prompts = null!;
    private SamplingOptions _sampling = null!;
    private Tensor _logProbs = null!, _old = null!, _reference = null!, _mask = null!, _rewards = null!;
    private string _method = "";

    [GlobalSetup(Targets = [nameof(StepWithKeyValueCache), nameof(SampleWithKeyValueCache), nameof(GrpoKernelsOfOneStep)])]
    public void SetupCached() => Setup(cache: true);

    [GlobalSetup(Targets = [nameof(StepRecomputing), nameof(SampleRecomputing)])]
    public void SetupRecomputing() => Setup(cache: false);

    [GlobalCleanup]
    public void Cleanup()
    {
        _split.Print(_method);
        _trainer.Dispose();
        _policy.Dispose();
        _reward.Dispose();
        foreach (var t in new[] { _logProbs, _old, _reference, _mask, _rewards })
        {
            t.Dispose();
        }
    }

    [Benchmark(Baseline = true)]
    public GrpoStepRecord StepWithKeyValueCache() => Step(nameof(StepWithKeyValueCache));

    [Benchmark]
    public GrpoStepRecord StepRecomputing() => Step(nameof(StepRecomputing));

    [Benchmark]
    public int SampleWithKeyValueCache() => Sample();

    [Benchmark]
    public int SampleRecomputing() => Sample();

    /// <summary>Advantages of 8 × 4 rewards and μ = 2 policy-loss forward + backward passes on [32, 16] log-probs: the GRPO maths of one step.</summary>
    [Benchmark]
    public double GrpoKernelsOfOneStep()
    {
        using var scope = NewDisposeScope();
        using var advantages = GroupAdvantages.Compute(_rewards);
        double loss = 0;
        for (int i = 0; i < 2; i++)
        {
            var logProbs = _logProbs.detach().requires_grad_(true);
            using var result = PolicyLoss.Compute(
                new PolicyLossInputs { LogProbs = logProbs, OldLogProbs = _old, ReferenceLogProbs = _reference, Advantages = advantages.Advantages.reshape(-1), Mask = _mask },
                new PolicyLossOptions { Beta = 0.01 });
            result.Loss.backward();
            loss += result.Loss.item<float>();
        }

        return loss;
    }

    private GrpoStepRecord Step(string method)
    {
        _method = method;
        var record = _trainer.StepAsync(_prompts).GetAwaiter().GetResult();
        _split.Add(record);
        return record;
    }

    private int Sample()
    {
        using var batch = _policy.Sampler.SampleAsync(_prompts, Group, _sampling).GetAwaiter().GetResult();
        return batch.Length;
    }

    private void Setup(bool cache)
    {
        // One intra-op thread: for a 64-wide model the ops are too small to split, and on a shared 2-core machine two
        // spinning LibTorch threads turn every preemption into a stall (measured: medians 3-50x higher, spread ±100 %).
        torch.set_num_threads(1);
        var words = Enumerable.Range(0, Vocabulary).Select(i => i == 0 ? "<eos>" : $"w{i}").ToArray();
        _policy = new TorchPolicy(new TinyCausalModule(Vocabulary, Hidden, seed: 1, cache: cache), new WordTokenizer(words));
        _reward = new WordCountRewardModel();
        _sampling = new SamplingOptions { Temperature = 0.9, MaxNewTokens = MaxNewTokens, StopTokenIds = [0], Seed = 5 };
        _trainer = new GrpoTrainer(_policy, _reward, new GrpoTrainerOptions
        {
            Sampling = _sampling.Clone(),
            LearningRate = 1e-3,
            WarmupSteps = 0,
            Iterations = 2,
            MaxSteps = 10_000,
        });
        _prompts = Enumerable.Range(0, Prompts).Select(i => new PolicyPrompt($"question {i}", "w1", [1 + i, 20 + i, 40 + i, 60 + i])).ToArray();
        using var generator = new Generator(3UL, CPU);
        int rows = Prompts * Group;
        _logProbs = (-rand([rows, MaxNewTokens], generator: generator) * 3).DetachFromDisposeScope();
        _old = (_logProbs + (randn([rows, MaxNewTokens], generator: generator) * 0.05)).DetachFromDisposeScope();
        _reference = (_logProbs + (randn([rows, MaxNewTokens], generator: generator) * 0.05)).DetachFromDisposeScope();
        _mask = (rand([rows, MaxNewTokens], generator: generator) < 0.8).DetachFromDisposeScope();
        _rewards = randint(0, 5, [Prompts, Group], generator: generator).to(ScalarType.Float32).DetachFromDisposeScope();
        long? peak = PeakNativeMemory.Measure(() => _trainer.StepAsync(_prompts).GetAwaiter().GetResult());
        Console.WriteLine($"// peak extra native memory of one step ({(cache ? "KV cache" : "recompute")}): {(peak is long p ? $"{p / 1024.0 / 1024.0:F1} MiB" : "n/a")}");
    }
}
