using Vepa.Grpo;
using static TorchSharp.torch;

namespace Vepa.Engines.Tests;

/// <summary>
/// Full-weight sync against the loopback engine, which reloads its real weights from the snapshot the synchronizer writes: a stale engine
/// shows as a sampler-vs-trainer KL after an update, a synced one as none.
/// </summary>
public sealed class WeightSyncTests(Xunit.Abstractions.ITestOutputHelper output)
{
    [Theory]
    [InlineData(Engine.Vllm)]
    [InlineData(Engine.Sglang)]
    public async Task Without_sync_the_engine_is_stale_after_an_update_and_after_sync_it_matches_the_trainer(Engine kind)
    {
        await using var setup = await EngineSetup.StartAsync(kind);
        var sampler = setup.CreateSampler(o => o.WeightSync!.KeepVersions = 2);
        using var owned = (IDisposable)sampler;
        var sync = (IWeightSynchronizer)sampler.GetService(typeof(IWeightSynchronizer))!;
        var prompts = setup.Prompts();

        (await MismatchAsync(setup, sampler, prompts, seed: 1)).Kl.Should().BeLessThan(1e-6, "engine and trainer start from the same snapshot");

        // One optimizer update on the trainer's copy; the engine keeps serving version 0.
        using var reward = new LetterShareReward();
        var options = new GrpoTrainerOptions { GroupSize = 4, Sampling = setup.Sampling(seed: null), LearningRate = 3e-2, WarmupRatio = 0, MaxSteps = 10, Loss = { Beta = 0 } };
        using (var trainer = new GrpoTrainer(setup.Trainer, reward, options, sampler))
        {
            await trainer.StepAsync(prompts);
        }

        var stale = await MismatchAsync(setup, sampler, prompts, seed: 2);
        stale.Kl.Should().BeGreaterThan(1e-3, "the engine still samples from the old weights");
        stale.MaxGap.Should().BeGreaterThan(0.05f);

        await sync.SynchronizeAsync(setup.Trainer, 1);

        var synced = await MismatchAsync(setup, sampler, prompts, seed: 2);
        output.WriteLine($"{kind}: KL(sampler || trainer) after one update: stale {stale.Kl:E3} (max |gap| {stale.MaxGap:E3}), synced {synced.Kl:E3} (max |gap| {synced.MaxGap:E3})");
        synced.Kl.Should().BeLessThan(1e-6);
        synced.MaxGap.Should().BeLessThan(1e-4f);
        WeightVersionOf(sampler).Should().Be(1);
        setup.Server.LoadedFrom.Should().EndWith(kind == Engine.Vllm ? FullWeightSynchronizer.CurrentLinkName : FullWeightSynchronizer.FolderName(1));
        if (kind == Engine.Sglang)
        {
            setup.Server.WeightVersion.Should().Be("1");
        }
        else
        {
            new DirectoryInfo(Path.Combine(setup.Root, FullWeightSynchronizer.CurrentLinkName)).LinkTarget.Should().Be(FullWeightSynchronizer.FolderName(1));
            setup.Server.Calls("/pause").Should().Be(1);
            setup.Server.Calls("/resume").Should().Be(1);
            setup.Server.Calls("/reset_prefix_cache").Should().Be(1);
        }

        // Two more versions: only the newest two folders stay.
        await sync.SynchronizeAsync(setup.Trainer, 2);
        await sync.SynchronizeAsync(setup.Trainer, 5);
        Directory.EnumerateDirectories(setup.Root, "v*").Select(Path.GetFileName).Order()
            .Should().Equal(FullWeightSynchronizer.FolderName(2), FullWeightSynchronizer.FolderName(5));
        await sync.Awaiting(s => s.SynchronizeAsync(setup.Trainer, 5)).Should().ThrowAsync<ArgumentOutOfRangeException>()
            .WithMessage("The weight version must grow from sync to sync; the last one synced was 5.*");
    }

    [Theory]
    [InlineData(Engine.Vllm)]
    [InlineData(Engine.Sglang)]
    public async Task A_reload_the_engine_refuses_fails_the_sync_loudly_and_keeps_the_old_version(Engine kind)
    {
        await using var setup = await EngineSetup.StartAsync(kind);
        var sampler = setup.CreateSampler();
        using var owned = (IDisposable)sampler;
        var sync = (IWeightSynchronizer)sampler.GetService(typeof(IWeightSynchronizer))!;
        setup.Server.Inject(EngineFault.ReloadFails);

        var act = () => sync.SynchronizeAsync(setup.Trainer, 1);

        var error = (await act.Should().ThrowAsync<WeightSyncException>()).Which;
        error.Version.Should().Be(1);
        error.Message.Should().StartWith($"Weight sync to version 1 failed: the snapshot was written to '{Path.Combine(setup.Root, FullWeightSynchronizer.FolderName(1))}', but the engine did not load it.");
        error.InnerException.Should().BeOfType<EngineRequestException>().Which.StatusCode.Should().Be(kind == Engine.Vllm ? 500 : 400);
        WeightVersionOf(sampler).Should().BeNull();
        if (kind == Engine.Vllm)
        {
            setup.Server.Calls("/resume").Should().Be(1, "a failed reload still resumes the engine");
        }

        // The engine is usable again and a later sync works.
        await sync.SynchronizeAsync(setup.Trainer, 2);
        WeightVersionOf(sampler).Should().Be(2);
    }

    [Fact]
    public async Task An_SGLang_reload_answered_200_without_success_fails_the_sync_without_quoting_the_body()
    {
        await using var setup = await EngineSetup.StartAsync(Engine.Sglang);
        var sampler = setup.CreateSampler();
        using var owned = (IDisposable)sampler;
        var sync = (IWeightSynchronizer)sampler.GetService(typeof(IWeightSynchronizer))!;
        setup.Server.Inject(EngineFault.ReloadAnswersFalse);

        var act = () => sync.SynchronizeAsync(setup.Trainer, 1);

        var error = (await act.Should().ThrowAsync<WeightSyncException>()).Which;
        error.InnerException.Should().BeOfType<EngineRequestException>().Which.Message.Should()
            .Match("Reloading weights at *update_weights_from_disk answered HTTP 200 without \"success\": true (its message is not shown; see the engine's log).");
        error.Message.Should().NotContain("injected fault");
        WeightVersionOf(sampler).Should().BeNull();
    }

    [Fact]
    public async Task A_policy_the_default_writer_cannot_save_fails_the_sync_before_any_request()
    {
        await using var setup = await EngineSetup.StartAsync(Engine.Sglang);
        var sampler = setup.CreateSampler();
        using var owned = (IDisposable)sampler;
        var sync = (IWeightSynchronizer)sampler.GetService(typeof(IWeightSynchronizer))!;

        var act = () => sync.SynchronizeAsync(setup.Trainer.Policy, 1);

        (await act.Should().ThrowAsync<WeightSyncException>()).Which.Message.Should().Contain(
            "while writing the snapshot").And.Contain("NotSupportedException: The policy (TorchPolicy) offers no QwenPolicy, QwenForCausalLM or Qwen2VLForConditionalGeneration to save; set FullWeightSyncOptions.WriteSnapshot");
        setup.Server.Calls("/update_weights_from_disk").Should().Be(0);
        Directory.EnumerateDirectories(setup.Root, "*1*").Should().BeEmpty("no half-written version is left");
    }

    private static long? WeightVersionOf(IRolloutSampler sampler) => ((EngineRolloutSampler)sampler).WeightVersion;

    /// <summary>
    /// KL(sampler ‖ trainer) estimated on the engine's own samples with k3 = exp(t − s) − (t − s) − 1 ≥ 0 (t, s: trainer and sampler log-probs of
    /// each sampled token), averaged over the completion tokens; and the largest |t − s|.
    /// </summary>
    /// <param name="policy">The trainer-side policy; <see langword="null"/> uses the setup's.</param>
    internal static async Task<(double Kl, float MaxGap)> MismatchAsync(EngineSetup setup, IRolloutSampler sampler, PolicyPrompt[] prompts, long seed, IPolicy? policy = null)
    {
        var sampling = setup.Sampling(seed);
        using var batch = await sampler.SampleAsync(prompts, 8, sampling);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var trainer = (policy ?? setup.Trainer).ComputeLogProbs(batch, new PolicyLogProbOptions { Temperature = sampling.Temperature }).LogProbs.to(ScalarType.Float64);
        var mask = batch.CompletionMask;
        var delta = (trainer - batch.SamplerLogProbs!.to(ScalarType.Float64)).masked_select(mask);
        double kl = (delta.exp() - delta - 1).mean().item<double>();
        return (kl, (float)delta.abs().max().item<double>());
    }
}
