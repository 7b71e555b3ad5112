using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Engines;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using TorchSharp;
using Vepa.Models;

namespace Vepa.Benchmarks.Models;

/// <summary>
/// The mid-size configuration of the model benchmarks: Qwen2.5-0.5B's layer shapes (hidden 896, 14 query heads, 2 key/value heads,
/// head size 64, intermediate 4864, vocabulary 151936, tied head, θ = 1e6) with 2 of its 24 layers, float32 on the CPU.
/// </summary>
internal static class QwenBenchmarkShape
{
    internal const int Hidden = 896, Heads = 14, KeyValueHeads = 2, Intermediate = 4864, Vocabulary = 151936, Layers = 2;

    /// <summary>LibTorch intra-op threads for both Vepa and the PyTorch peer: VEPA_BENCH_THREADS, default 1 (a shared 2-core machine).</summary>
    internal static int Threads => int.TryParse(Environment.GetEnvironmentVariable("VEPA_BENCH_THREADS"), out int n) && n > 0 ? n : 1;

    internal static QwenConfig Config => new()
    {
        ModelType = "qwen2",
        VocabSize = Vocabulary,
        HiddenSize = Hidden,
        IntermediateSize = Intermediate,
        NumHiddenLayers = Layers,
        NumAttentionHeads = Heads,
        NumKeyValueHeads = KeyValueHeads,
        RopeTheta = 1e6,
        TieWordEmbeddings = true,
    };

    internal static QwenForCausalLM CreateModel()
    {
        torch.set_num_threads(Threads);
        torch.manual_seed(0);
        return new QwenForCausalLM(Config);
    }
}

/// <summary>
/// A short job for the model suites: one launch, 1 warmup, 5 measured iterations (each op takes seconds on the shared machine), in process (no
/// generated project to build: on a loaded machine that build outlasts BenchmarkDotNet's timeout; the operations are long
/// enough that in-process overhead does not matter).
/// </summary>
internal sealed class QwenBenchmarkConfig : ManualConfig
{
    public QwenBenchmarkConfig()
    {
        AddJob(Job.Default
            .WithToolchain(InProcessEmitToolchain.Instance)
            .WithStrategy(RunStrategy.Monitoring)
            .WithLaunchCount(1)
            .WithWarmupCount(1)
            .WithIterationCount(5)
            .WithId("Short"));
    }
}
