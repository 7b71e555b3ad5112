using BenchmarkDotNet.Attributes;
using TorchSharp;
using Vepa.Benchmarks.LogProbs;
using Vepa.Benchmarks.Trainer;
using Vepa.Grpo;
using Vepa.Grpo.Tests.Training;
using static TorchSharp.torch;

namespace Vepa.Benchmarks;

/// <summary>
/// One GRPO step of <see cref="GrpoTrainer"/> in float32 (baseline) and in bfloat16 mixed precision
/// (<see cref="GrpoTrainerOptions.Precision"/> = <see cref="TrainingPrecision.BFloat16"/>, float32 masters and AdamW state),
/// with and without <see cref="GrpoTrainerOptions.LmHeadFloat32"/>, on CPU: a one-layer causal policy (vocabulary 2000,
/// hidden 128), 8 prompts × G = 4, up to 16 new tokens, μ = 1, β = 0.01, sampling included. The peak extra native memory of
/// one step is printed from each setup ("// peak"). LibTorch runs on one intra-op thread.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(TrainerStepBenchmarkConfig))]
public class MixedPrecisionStepBenchmarks
{
    private const int Vocabulary = 2000, Hidden = 128, Prompts = 8, Group = 4, MaxNewTokens = 16;
    private TorchPolicy _policy = null!;
    private GrpoTrainer _trainer = null!;
    private WordCountRewardModel _reward = null!;
    private PolicyPrompt[] _prompts = null!;

    [GlobalSetup(Target = nameof(StepFloat32))]
    public void SetupFloat32() => Setup(TrainingPrecision.Float32, headFloat32: false);

    [GlobalSetup(Target = nameof(StepBFloat16Mixed))]
    public void SetupBFloat16() => Setup(TrainingPrecision.BFloat16, headFloat32: false);

    [GlobalSetup(Target = nameof(StepBFloat16MixedHeadFloat32))]
    public void SetupBFloat16HeadFloat32() => Setup(TrainingPrecision.BFloat16, headFloat32: true);

    [GlobalCleanup]
    public void Cleanup()
    {
        _trainer.Dispose();
        _policy.Dispose();
        _reward.Dispose();
    }

    [Benchmark(Baseline = true)]
    public GrpoStepRecord StepFloat32() => Step();

    [Benchmark]
    public GrpoStepRecord StepBFloat16Mixed() => Step();

    [Benchmark]
    public GrpoStepRecord StepBFloat16MixedHeadFloat32() => Step();

    private GrpoStepRecord Step() => _trainer.StepAsync(_prompts).GetAwaiter().GetResult();

    private void Setup(TrainingPrecision precision, bool headFloat32)
    {
        torch.set_num_threads(1);
        var words = Enumerable.Range(0, Vocabulary).Select(i => i == 0 ? "<eos>" : $"w{i}").ToArray();
        var module = new TinyCausalModule(Vocabulary, Hidden, seed: 1, cache: true);
        if (precision == TrainingPrecision.BFloat16)
        {
            module.to(ScalarType.BFloat16);
        }

        _policy = new TorchPolicy(module, new WordTokenizer(words));
        _reward = new WordCountRewardModel();
        _trainer = new GrpoTrainer(_policy, _reward, new GrpoTrainerOptions
        {
            Sampling = new SamplingOptions { Temperature = 0.9, MaxNewTokens = MaxNewTokens, StopTokenIds = [0] },
            LearningRate = 1e-3,
            WarmupSteps = 0,
            MaxSteps = 10_000,
            Precision = precision,
            LmHeadFloat32 = headFloat32,
        });
        _prompts = Enumerable.Range(0, Prompts).Select(i => new PolicyPrompt($"question {i}", "w1", [1 + i, 20 + i, 40 + i, 60 + i])).ToArray();
        long? peak = PeakNativeMemory.Measure(() => _trainer.StepAsync(_prompts).GetAwaiter().GetResult());
        long parameters = _policy.TrainableParameters.Sum(p => p.numel());
        Console.WriteLine($"// peak extra native memory of one step ({precision}{(headFloat32 ? ", LM head float32" : "")}, {parameters} parameters): {(peak is long p ? $"{p / 1024.0 / 1024.0:F1} MiB" : "n/a")}");
    }
}
