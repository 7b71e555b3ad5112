using Vepa.Models;
using Vepa.Models.Tests;

namespace Vepa.Engines.Tests;

/// <summary>Which engine protocol a test speaks.</summary>
public enum Engine
{
    /// <summary>vLLM's OpenAI-compatible server.</summary>
    Vllm,

    /// <summary>SGLang's native server.</summary>
    Sglang,
}

/// <summary>
/// A trainer-side policy and a loopback engine that both start from the tiny Qwen2 snapshot: the engine serves version 0 from
/// <c>{Root}/v000000000000</c> (vLLM through the <c>{Root}/current</c> link), the trainer loads its own copy.
/// </summary>
internal sealed class EngineSetup : IAsyncDisposable
{
    private EngineSetup(Engine kind, string root, QwenPolicy trainer, LoopbackEngine engine)
    {
        Kind = kind;
        Root = root;
        Trainer = trainer;
        Server = engine;
    }

    public Engine Kind { get; }

    public string Root { get; }

    public QwenPolicy Trainer { get; }

    public LoopbackEngine Server { get; }

    /// <param name="kind">The engine protocol.</param>
    /// <param name="snapshot">The Hugging Face snapshot both sides start from; <see langword="null"/> uses the tiny Qwen2 snapshot.</param>
    public static async Task<EngineSetup> StartAsync(Engine kind, string? snapshot = null)
    {
        snapshot ??= QwenPolicySnapshot.Path;
        string root = Path.Combine(Path.GetTempPath(), "vepa-engines-" + Guid.NewGuid().ToString("N"));
        string initial = Path.Combine(root, FullWeightSynchronizer.FolderName(0));
        Directory.CreateDirectory(initial);
        foreach (string file in Directory.EnumerateFiles(snapshot))
        {
            File.Copy(file, Path.Combine(initial, Path.GetFileName(file)));
        }

        string served = initial;
        if (kind == Engine.Vllm)
        {
            served = Path.Combine(root, FullWeightSynchronizer.CurrentLinkName);
            File.CreateSymbolicLink(served, FullWeightSynchronizer.FolderName(0));
        }

        var trainer = QwenPolicy.FromPretrained(snapshot, options: new QwenPolicyOptions { MaxNewTokens = 6, Seed = 3 });
        var engine = await LoopbackEngine.StartAsync(served);
        return new EngineSetup(kind, root, trainer, engine);
    }

    /// <summary>Creates a sampler of this setup's kind against the loopback engine, with weight sync into <see cref="Root"/>.</summary>
    public IRolloutSampler CreateSampler(Action<EngineSamplerOptions>? configure = null)
    {
        var options = new EngineSamplerOptions
        {
            BaseAddress = Server.BaseAddress,
            Model = "tiny-qwen",
            Tokenizer = Trainer.Tokenizer,
            RetryBaseDelay = TimeSpan.FromMilliseconds(10),
            WeightSync = new FullWeightSyncOptions { SnapshotDirectory = Root },
        };
        configure?.Invoke(options);
        return Kind == Engine.Vllm ? new VllmRolloutSampler(options) : new SglangRolloutSampler(options);
    }

    public PolicyPrompt[] Prompts() =>
        [Trainer.CreatePrompt("Where is the square?", "left"), Trainer.CreatePrompt("Colour of the ball?", "red"), Trainer.CreatePrompt("How many cats?", "two")];

    public SamplingOptions Sampling(long? seed = 5)
    {
        var sampling = Trainer.CreateSamplingOptions();
        sampling.Temperature = 1.0;
        sampling.Seed = seed;
        return sampling;
    }

    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        Trainer.Dispose();
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
            // A temp folder left behind is harmless.
        }
    }
}
