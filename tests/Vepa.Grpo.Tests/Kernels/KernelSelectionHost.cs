using System.Text.Json.Nodes;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Vepa.Grpo.Kernels;
using Vepa.Grpo.Tests.Training;

namespace Vepa.Grpo.Tests.Kernels;

/// <summary>The toy trainer behind the kernel-selection tests: built from configuration, and resumed from an edited checkpoint.</summary>
internal static class KernelSelectionHost
{
    /// <summary>A container holding the toy trainer bound from "Vepa:Grpo" (G = 3, 3 new tokens) plus
    /// <paramref name="settings"/> (keys under "Vepa:Grpo"), and <paramref name="registry"/> when given.</summary>
    public static ServiceProvider Build(IReadOnlyDictionary<string, string?> settings, KernelRegistry? registry)
    {
        var values = new Dictionary<string, string?>
        {
            ["Vepa:Grpo:GroupSize"] = "3",
            ["Vepa:Grpo:Sampling:MaxNewTokens"] = "3",
            ["Vepa:Grpo:Sampling:StopTokenIds:0"] = "0",
        };
        foreach (var (key, value) in settings)
        {
            values["Vepa:Grpo:" + key] = value;
        }

        var services = new ServiceCollection().AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(values).Build());
        if (registry is not null)
        {
            services.AddSingleton(registry);
        }

        services.AddSingleton<IRewardModel>(TrainerCheckpointFolderTests.Reward());
        services.AddGrpoTrainer(_ => TrainerCheckpointFolderTests.NewPolicy(seed: 1), "Vepa:Grpo");
        return services.BuildServiceProvider();
    }

    /// <summary>Trains one step with checkpoints, rewrites the checkpoint's saved options with <paramref name="editSaved"/>,
    /// resumes a trainer whose options <paramref name="change"/> edits, checks that the resume went through, and returns the
    /// warnings it logged.</summary>
    public static async Task<string[]> ResumeWarnings(Action<JsonNode> editSaved, Action<GrpoTrainerOptions> change)
    {
        using var folder = new TempFolder();
        GrpoTrainerOptions options = TrainerCheckpointFolderTests.Options(folder.Path);
        using (var policy = TrainerCheckpointFolderTests.NewPolicy(seed: 1))
        using (var trainer = new GrpoTrainer(policy, TrainerCheckpointFolderTests.Reward(), options))
        {
            await trainer.TrainAsync(TrainerCheckpointFolderTests.Batches(1));
        }

        string metadata = Path.Combine(folder.Path, "step-00000001", "trainer.json");
        JsonNode root = JsonNode.Parse(File.ReadAllText(metadata))!;
        editSaved(root["options"]!);
        File.WriteAllText(metadata, root.ToJsonString());

        var logs = new FakeLogCollector();
        using var loggerFactory = LoggerFactory.Create(b => b.AddProvider(new FakeLoggerProvider(logs)));
        change(options);
        using (var policy = TrainerCheckpointFolderTests.NewPolicy(seed: 2))
        using (var trainer = new GrpoTrainer(policy, TrainerCheckpointFolderTests.Reward(), options, loggerFactory: loggerFactory))
        {
            await trainer.ResumeAsync(folder.Path);
            trainer.CompletedSteps.Should().Be(1, "a kernel name is not a setting that breaks a run's exactness");
        }

        return [.. logs.GetSnapshot().Where(r => r.Level == LogLevel.Warning).Select(r => r.Message)];
    }
}
