using System.Globalization;
using System.Reflection;
using BenchmarkDotNet.Attributes;
using TorchSharp;
using TorchSharp.Modules;
using Vepa.Benchmarks.LogProbs;
using Vepa.Benchmarks.Trainer;
using Vepa.Grpo;
using Vepa.Models;
using static TorchSharp.torch;

namespace Vepa.Benchmarks.Models;

/// <summary>
/// Memory of LoRA against full fine-tuning: one GRPO step (β = 0.01 with k3, AdamW) of a small Qwen2 stack (hidden 512, 8 query /
/// 2 key-value heads, intermediate 1536, 4 layers, vocabulary 4096, untied head; float32, CPU), full fine-tuning (baseline: every
/// weight trains, the reference is a frozen copy) against LoRA r = 16, α = 32 on the seven projections (only A and B train, the
/// reference is the same model with the adapters off). 4 prompts × G = 4, 16 new tokens, μ = 1. Setup prints, per method, the
/// trainable parameters, AdamW's state bytes after a step (read from the trainer's optimizer), the resident memory the policy and
/// trainer hold after a warm-up step, and the peak extra resident memory of one step (<see cref="PeakNativeMemory"/>).
/// </summary>
[MemoryDiagnoser]
[Config(typeof(QwenBenchmarkConfig))]
public class LoraTrainerStepBenchmarks
{
    private const int Vocabulary = 4096, Prompts = 4, Group = 4, MaxNewTokens = 16;
    private TorchPolicy _torchPolicy = null!;
    private IPolicy _policy = null!;
    private GrpoTrainer _trainer = null!;
    private WordCountRewardModel _reward = null!;
    private PolicyPrompt[] _prompts = null!;

    [GlobalSetup(Target = nameof(FullFineTuningStep))]
    public void SetupFull() => Setup(lora: false);

    [GlobalSetup(Target = nameof(LoraStep))]
    public void SetupLora() => Setup(lora: true);

    [GlobalCleanup]
    public void Cleanup()
    {
        _trainer.Dispose();
        _policy.Dispose();
        _reward.Dispose();
        GC.Collect();
        GC.WaitForPendingFinalizers();
    }

    [Benchmark(Baseline = true)]
    public GrpoStepRecord FullFineTuningStep() => _trainer.StepAsync(_prompts).GetAwaiter().GetResult();

    [Benchmark]
    public GrpoStepRecord LoraStep() => _trainer.StepAsync(_prompts).GetAwaiter().GetResult();

    private void Setup(bool lora)
    {
        torch.set_num_threads(QwenBenchmarkShape.Threads);
        torch.manual_seed(0);
        PeakNativeMemory.BeginExactAccounting();
        GC.Collect();
        GC.WaitForPendingFinalizers();
        long before = ResidentBytes();

        var config = new QwenConfig
        {
            ModelType = "qwen2",
            VocabSize = Vocabulary,
            HiddenSize = 512,
            IntermediateSize = 1536,
            NumHiddenLayers = 4,
            NumAttentionHeads = 8,
            NumKeyValueHeads = 2,
            RopeTheta = 1e6,
            TieWordEmbeddings = false,
        };
        var words = Enumerable.Range(0, Vocabulary).Select(i => i == 0 ? "<eos>" : $"w{i}").ToArray();
        _torchPolicy = new TorchPolicy(new QwenCausalPolicyModule(new QwenForCausalLM(config)), new WordTokenizer(words), new TorchPolicyOptions { Seed = 1 });
        _policy = lora ? new LoraPolicy(_torchPolicy, new LoraOptions { Rank = 16, Alpha = 32, Seed = 2 }) : _torchPolicy;
        _reward = new WordCountRewardModel();
        _trainer = new GrpoTrainer(_policy, _reward, new GrpoTrainerOptions
        {
            GroupSize = Group,
            Sampling = new SamplingOptions { Temperature = 0.9, MaxNewTokens = MaxNewTokens, StopTokenIds = [0] },
            LearningRate = 1e-4,
            WarmupSteps = 0,
            MaxSteps = 10_000,
            Loss = new PolicyLossOptions { Beta = 0.01, KlEstimator = KlEstimator.K3 },
        });
        _prompts = Enumerable.Range(0, Prompts).Select(i => new PolicyPrompt($"question {i}", "w1", [1 + i, 20 + i, 40 + i, 60 + i, 80 + i, 100 + i, 120 + i, 140 + i])).ToArray();

        _trainer.StepAsync(_prompts).GetAwaiter().GetResult(); // warm-up: AdamW's state exists after its first step
        GC.Collect();
        GC.WaitForPendingFinalizers();
        long held = ResidentBytes() - before;
        long? peak = PeakNativeMemory.Measure(() => _trainer.StepAsync(_prompts).GetAwaiter().GetResult());
        PeakNativeMemory.EndExactAccounting();

        long trainable = _policy.TrainableParameters.Sum(p => p.NumberOfElements);
        long total = _torchPolicy.Module.parameters().Sum(p => p.NumberOfElements);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"// {(lora ? "LoRA r=16" : "full fine-tuning")}: trainable {trainable:N0} of {total:N0} parameters ({100.0 * trainable / total:F2} %), " +
            $"AdamW state {PeakNativeMemory.Format(OptimizerStateBytes(_trainer))}, reference {(_trainer.Reference!.GetState().Count == 0 ? "adapters-off view" : "frozen copy")}, " +
            $"resident after a warm-up step {PeakNativeMemory.Format(held)}, peak extra during one step {PeakNativeMemory.Format(peak)}"));
    }

    /// <summary>The bytes of AdamW's moments (exp_avg, exp_avg_sq) the trainer's optimizer holds (read through its private field: the trainer does not expose it).</summary>
    private static long OptimizerStateBytes(GrpoTrainer trainer)
    {
        var field = typeof(GrpoTrainer).GetField("_optimizer", BindingFlags.NonPublic | BindingFlags.Instance)!;
        var optimizer = (GrpoOptimizer)field.GetValue(trainer)!;
        return optimizer.Adam!.state_dict().State.Cast<AdamW.State>()
            .Sum(s => (s.exp_avg.NumberOfElements * s.exp_avg.ElementSize) + (s.exp_avg_sq.NumberOfElements * s.exp_avg_sq.ElementSize));
    }

    private static long ResidentBytes()
    {
        string? line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return line is null ? 0 : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
    }
}
