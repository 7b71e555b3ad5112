using Vepa.Grpo;
using Vepa.Models;
using Vepa.Models.Tests;
using Xunit.Abstractions;

namespace Vepa.Engines.Tests;

/// <summary>
/// LoRA adapter sync against the loopback engine, which loads each PEFT folder the synchronizer writes onto its own copy of the base
/// weights and serves requests naming it: a stale adapter shows as a sampler-vs-trainer KL after an update, a synced one as none.
/// </summary>
public sealed class LoraSyncTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(Engine.Vllm)]
    [InlineData(Engine.Sglang)]
    public async Task Without_sync_the_engine_is_stale_after_a_LoRA_update_and_after_sync_it_samples_with_the_new_adapter(Engine kind)
    {
        await using var setup = await EngineSetup.StartAsync(kind);
        using var policy = CreateLoraPolicy();
        string adapters = Path.Combine(setup.Root, "adapters");
        var sampler = CreateLoraSampler(setup, adapters);
        using var owned = sampler;
        var sync = (IWeightSynchronizer)sampler.GetService(typeof(IWeightSynchronizer))!;
        var prompts = setup.Prompts();

        // B starts at zero, so the fresh LoRA policy is the base model the engine serves.
        (await WeightSyncTests.MismatchAsync(setup, sampler, prompts, seed: 1, policy)).Kl.Should().BeLessThan(1e-6);
        sampler.AdapterName.Should().BeNull();

        using var reward = new LetterShareReward();
        var options = new GrpoTrainerOptions { GroupSize = 4, Sampling = setup.Sampling(seed: null), LearningRate = 5e-2, WarmupRatio = 0, MaxSteps = 10, Loss = { Beta = 0 } };
        using (var trainer = new GrpoTrainer(policy, reward, options, sampler))
        {
            await trainer.StepAsync(prompts);
        }

        var stale = await WeightSyncTests.MismatchAsync(setup, sampler, prompts, seed: 2, policy);
        stale.Kl.Should().BeGreaterThan(1e-3, "the engine still samples from the base model, without the updated adapter");

        await sync.SynchronizeAsync(policy, 1);

        string name = LoraAdapterSynchronizer.AdapterName("vepa-", 1);
        name.Should().Be("vepa-v000000000001");
        sampler.AdapterName.Should().Be(name);
        sampler.WeightVersion.Should().Be(1);
        var synced = await WeightSyncTests.MismatchAsync(setup, sampler, prompts, seed: 2, policy);
        output.WriteLine($"{kind}: KL(sampler || trainer) after one LoRA update: stale {stale.Kl:E3} (max |gap| {stale.MaxGap:E3}), synced {synced.Kl:E3} (max |gap| {synced.MaxGap:E3})");
        synced.Kl.Should().BeLessThan(1e-6);
        synced.MaxGap.Should().BeLessThan(1e-4f);
        setup.Server.AdapterLog.Last().Should().Be(name, "requests name the adapter just loaded");
        var body = setup.Server.LastBody!;
        if (kind == Engine.Vllm)
        {
            body["model"]!.GetValue<string>().Should().Be(name);
        }
        else
        {
            body["lora_path"]!.AsArray().Select(n => n!.GetValue<string>()).Should().Equal(Enumerable.Repeat(name, 8));
        }

        File.Exists(Path.Combine(adapters, FullWeightSynchronizer.FolderName(1), LoraAdapters.ConfigFileName)).Should().BeTrue();

        // Two more versions: the previous adapter is unloaded each time, and only the newest two folders stay.
        await sync.SynchronizeAsync(policy, 2);
        await sync.SynchronizeAsync(policy, 5);
        setup.Server.LoadedAdapters.Should().Equal(LoraAdapterSynchronizer.AdapterName("vepa-", 5));
        setup.Server.Calls(kind == Engine.Vllm ? "/v1/unload_lora_adapter" : "/unload_lora_adapter").Should().Be(2);
        Directory.EnumerateDirectories(adapters).Select(Path.GetFileName).Order()
            .Should().Equal(FullWeightSynchronizer.FolderName(2), FullWeightSynchronizer.FolderName(5));
        await sync.Awaiting(s => s.SynchronizeAsync(policy, 5)).Should().ThrowAsync<ArgumentOutOfRangeException>()
            .WithMessage("The weight version must grow from sync to sync; the last one synced was 5.*");
    }

    [Fact]
    public async Task GrpoTrainer_on_a_LoRA_policy_with_the_engine_sampler_and_LoRA_sync_learns_a_toy_task_like_the_in_process_sampler()
    {
        const int Steps = EngineTrainingTests.Steps;
        double baseline, inProcess, viaEngine;
        string snapshot = PeakedSnapshot();
        using var deleteSnapshot = new TemporaryFolder(snapshot);
        using (var local = CreateLoraPolicy(snapshot))
        {
            var inner = (QwenPolicy)local.InnerPolicy;
            baseline = await EngineTrainingTests.EvaluateAsync(inner);
            using var reward = new LetterShareReward();
            using var trainer = new GrpoTrainer(local, reward, EngineTrainingTests.Options(inner));
            for (int step = 0; step < Steps; step++)
            {
                await trainer.StepAsync(EngineTrainingTests.Prompts(inner));
            }

            inProcess = await EngineTrainingTests.EvaluateAsync(inner);
        }

        await using (var setup = await EngineSetup.StartAsync(Engine.Vllm, snapshot))
        {
            using var policy = CreateLoraPolicy(snapshot);
            var inner = (QwenPolicy)policy.InnerPolicy;
            using var sampler = CreateLoraSampler(setup, Path.Combine(setup.Root, "adapters"));
            using var reward = new LetterShareReward();
            using var trainer = new GrpoTrainer(policy, reward, EngineTrainingTests.Options(inner), sampler);
            for (int step = 0; step < Steps; step++)
            {
                long updatesBefore = trainer.OptimizerUpdates;
                var record = await trainer.StepAsync(EngineTrainingTests.Prompts(inner));
                record.RolloutWeightVersion.Should().Be(updatesBefore, "the adapter was synced to every update before the engine sampled");
                record.WeightVersionLag.Should().Be(0);
                record.SamplerKl.Should().BeLessThan(1e-6, "the engine samples with the adapter the trainer holds");
            }

            sampler.AdapterName.Should().Be(LoraAdapterSynchronizer.AdapterName("vepa-", trainer.OptimizerUpdates - 1));
            setup.Server.LoadedAdapters.Should().ContainSingle();
            viaEngine = await EngineTrainingTests.EvaluateAsync(inner);
        }

        output.WriteLine($"LoRA, mean letter share: untrained {baseline:F4}, {Steps} steps in process {inProcess:F4}, {Steps} steps through the engine {viaEngine:F4}");
        (inProcess - baseline).Should().BeGreaterThan(0.1, "the toy task is learnable through LoRA in this many steps");
        (viaEngine - baseline).Should().BeGreaterThan(0.5 * (inProcess - baseline), "the engine run learns comparably");
    }

    [Theory]
    [InlineData(Engine.Vllm)]
    [InlineData(Engine.Sglang)]
    public async Task A_failed_adapter_load_stops_the_trainer_before_it_samples_from_the_stale_adapter(Engine kind)
    {
        await using var setup = await EngineSetup.StartAsync(kind);
        using var policy = CreateLoraPolicy();
        using var sampler = CreateLoraSampler(setup, Path.Combine(setup.Root, "adapters"));
        using var reward = new LetterShareReward();
        var options = new GrpoTrainerOptions { GroupSize = 2, Sampling = setup.Sampling(seed: null), LearningRate = 1e-2, WarmupRatio = 0, MaxSteps = 5 };
        using var trainer = new GrpoTrainer(policy, reward, options, sampler);
        var prompts = setup.Prompts();
        (await trainer.StepAsync(prompts)).RolloutCount.Should().Be(6);
        string generate = kind == Engine.Vllm ? "/v1/completions" : "/generate";
        int samplingCalls = setup.Server.Calls(generate);
        setup.Server.Inject(EngineFault.ReloadFails);

        var act = () => trainer.StepAsync(prompts);

        var error = (await act.Should().ThrowAsync<GrpoWeightSyncException>()).Which;
        var sync = error.InnerException.Should().BeOfType<WeightSyncException>().Which;
        sync.Version.Should().Be(1);
        sync.Message.Should().StartWith($"LoRA sync to version 1 failed: the adapter was written to '{Path.Combine(setup.Root, "adapters", FullWeightSynchronizer.FolderName(1))}', but the engine did not load it as 'vepa-v000000000001'.");
        sync.InnerException.Should().BeOfType<EngineRequestException>().Which.StatusCode.Should().Be(400);
        setup.Server.Calls(generate).Should().Be(samplingCalls, "the step stopped before sampling from the stale adapter");
        sampler.AdapterName.Should().BeNull();
        sampler.WeightVersion.Should().BeNull();
    }

    [Fact]
    public async Task A_policy_without_LoRA_adapters_fails_the_sync_before_any_request()
    {
        await using var setup = await EngineSetup.StartAsync(Engine.Sglang);
        using var sampler = CreateLoraSampler(setup, Path.Combine(setup.Root, "adapters"));
        var sync = (IWeightSynchronizer)sampler.GetService(typeof(IWeightSynchronizer))!;

        var act = () => sync.SynchronizeAsync(setup.Trainer, 1);

        (await act.Should().ThrowAsync<WeightSyncException>()).Which.Message.Should().Contain("while writing the adapter")
            .And.Contain("NotSupportedException: The policy (QwenPolicy) offers no LoraAdapters through GetService");
        setup.Server.Calls("/load_lora_adapter").Should().Be(0);
    }

    [Theory]
    [InlineData(Engine.Vllm)]
    [InlineData(Engine.Sglang)]
    public async Task Full_weight_sync_of_a_LoRA_policy_fails_loudly_instead_of_sending_the_base_weights(Engine kind)
    {
        await using var setup = await EngineSetup.StartAsync(kind);
        using var sampler = (EngineRolloutSampler)setup.CreateSampler();    // full-weight sync
        var sync = (IWeightSynchronizer)sampler.GetService(typeof(IWeightSynchronizer))!;
        using var policy = CreateLoraPolicy();

        var act = () => sync.SynchronizeAsync(policy, 1);

        (await act.Should().ThrowAsync<WeightSyncException>()).Which.Message.Should().Contain("trains LoRA adapters")
            .And.Contain("EngineSamplerOptions.LoraSync");
        setup.Server.Calls(kind == Engine.Vllm ? "/collective_rpc" : "/update_weights_from_disk").Should().Be(0);

        // Merged, the model itself computes the adapted output, and its full snapshot is what the engine should serve.
        policy.Adapters.Merge();
        await sync.SynchronizeAsync(policy, 2);
        sampler.WeightVersion.Should().Be(2);
    }

    [Fact]
    public async Task A_request_naming_an_adapter_the_engine_lacks_gets_the_engines_error()
    {
        await using var setup = await EngineSetup.StartAsync(Engine.Vllm);
        using var sampler = (VllmRolloutSampler)setup.CreateSampler(o => { o.WeightSync = null; o.Model = "vepa-v000000000009"; });

        var act = () => sampler.SampleAsync(setup.Prompts(), 2, setup.Sampling());

        (await act.Should().ThrowAsync<EngineRequestException>()).Which.StatusCode.Should().Be(404);
    }

    [Fact]
    public void LoRA_sync_options_are_validated_with_the_sampler_options()
    {
        var defaults = new LoraSyncOptions();
        defaults.KeepVersions.Should().Be(2);
        defaults.AdapterNamePrefix.Should().Be("vepa-");
        defaults.UnloadPrevious.Should().BeTrue();
        defaults.Timeout.Should().Be(TimeSpan.FromMinutes(5));
        var options = new EngineSamplerOptions
        {
            BaseAddress = new Uri("http://127.0.0.1:1/"),
            WeightSync = new FullWeightSyncOptions { SnapshotDirectory = "/tmp/x" },
            LoraSync = new LoraSyncOptions { KeepVersions = 0, AdapterNamePrefix = "bad name/", EngineAdapterDirectory = " ", Timeout = TimeSpan.Zero },
        };

        var act = () => new VllmRolloutSampler(options);

        act.Should().Throw<ArgumentException>().WithMessage(
            "Invalid EngineSamplerOptions: WeightSync and LoraSync are both set; choose one (full weights, or LoRA adapters only). "
            + "LoraSync.AdapterDirectory is required*LoraSync.AdapterNamePrefix must be 1 to 64 letters, digits, '-', '_' or '.'*"
            + "LoraSync.KeepVersions must be in [1, 1000]; got 0.*LoraSync.Timeout must be in [1 ms, 1 day]*"
            + "LoraSync.EngineAdapterDirectory must be a folder path or null; got an empty string.*");
    }

    private static LoraPolicy CreateLoraPolicy(string? snapshot = null) =>
        new(QwenPolicy.FromPretrained(snapshot ?? QwenPolicySnapshot.Path, options: new QwenPolicyOptions { MaxNewTokens = 6, Seed = 3 }), new LoraOptions { Rank = 4, Alpha = 8, Seed = 7 });

    /// <summary>
    /// The tiny snapshot with unit norms and a 4× head, saved to a new folder: the random snapshot's policy is almost uniform and LoRA
    /// (which leaves the head alone) barely moves it; a peaked one moves, as a pretrained model does (Vepa.Models' LoRA tests do the same).
    /// </summary>
    private static string PeakedSnapshot()
    {
        string folder = Path.Combine(Path.GetTempPath(), "vepa-peaked-" + Guid.NewGuid().ToString("N"));
        using var qwen = QwenPolicy.FromPretrained(QwenPolicySnapshot.Path);
        using (TorchSharp.torch.no_grad())
        {
            foreach (var (name, value) in qwen.GetState())
            {
                if (name.EndsWith("norm.weight", StringComparison.Ordinal))
                {
                    value.fill_(1);
                }
                else if (name == "lm_head.weight")
                {
                    value.mul_(4);
                }
            }
        }

        qwen.SavePretrained(folder);
        return folder;
    }

    private static EngineRolloutSampler CreateLoraSampler(EngineSetup setup, string adapters) =>
        (EngineRolloutSampler)setup.CreateSampler(o =>
        {
            o.WeightSync = null;
            o.LoraSync = new LoraSyncOptions { AdapterDirectory = adapters };
        });
}

/// <summary>Deletes a scratch folder when disposed.</summary>
internal sealed class TemporaryFolder(string path) : IDisposable
{
    public void Dispose()
    {
        try
        {
            Directory.Delete(path, recursive: true);
        }
        catch (IOException)
        {
            // A temp folder left behind is harmless.
        }
    }
}
