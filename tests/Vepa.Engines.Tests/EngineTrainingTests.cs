using Vepa.Grpo;
using Vepa.Models;
using Vepa.Models.Tests;
using Xunit.Abstractions;

namespace Vepa.Engines.Tests;

/// <summary>GRPO end to end with the engine sampler and full-weight sync after every update, against the same run with the in-process sampler.</summary>
public sealed class EngineTrainingTests(ITestOutputHelper output)
{
    internal const int Steps = 12;

    [Fact]
    public async Task GrpoTrainer_with_the_engine_sampler_and_weight_sync_learns_a_toy_task_like_the_in_process_sampler()
    {
        double baseline, inProcess, viaEngine;
        using (var local = QwenPolicy.FromPretrained(QwenPolicySnapshot.Path, options: new QwenPolicyOptions { MaxNewTokens = 6, Seed = 3 }))
        {
            baseline = await EvaluateAsync(local);
            using var reward = new LetterShareReward();
            using var trainer = new GrpoTrainer(local, reward, Options(local));
            for (int step = 0; step < Steps; step++)
            {
                await trainer.StepAsync(Prompts(local));
            }

            inProcess = await EvaluateAsync(local);
        }

        await using (var setup = await EngineSetup.StartAsync(Engine.Sglang))
        {
            var sampler = setup.CreateSampler();
            using var owned = (IDisposable)sampler;
            using var reward = new LetterShareReward();
            using var trainer = new GrpoTrainer(setup.Trainer, reward, Options(setup.Trainer), sampler);
            for (int step = 0; step < Steps; step++)
            {
                // The trainer itself syncs the engine before sampling (WeightSyncEvery = 1, the default).
                long updatesBefore = trainer.OptimizerUpdates;
                var record = await trainer.StepAsync(Prompts(setup.Trainer));
                record.RolloutCount.Should().Be(24);
                record.RolloutWeightVersion.Should().Be(updatesBefore, "the engine was synced to every update before it sampled");
                record.WeightVersionLag.Should().Be(0);
                record.SamplerCorrection.Should().Be(SamplerCorrectionMode.Truncate, "a remote sampler turns the sampler correction on by default");
                record.SamplerKl.Should().BeLessThan(1e-6, "the engine samples from the weights the trainer holds");
            }

            ((SglangRolloutSampler)sampler).WeightVersion.Should().Be(trainer.OptimizerUpdates - 1, "the last update is synced before the next step samples");
            viaEngine = await EvaluateAsync(setup.Trainer);
        }

        output.WriteLine($"mean letter share: untrained {baseline:F4}, {Steps} steps in process {inProcess:F4}, {Steps} steps through the engine {viaEngine:F4}");
        (inProcess - baseline).Should().BeGreaterThan(0.1, "the toy task is learnable in this many steps");
        (viaEngine - baseline).Should().BeGreaterThan(0.5 * (inProcess - baseline), "the engine run learns comparably");
    }

    internal static GrpoTrainerOptions Options(QwenPolicy policy)
    {
        var sampling = policy.CreateSamplingOptions();
        sampling.Temperature = 1.0;
        return new GrpoTrainerOptions { GroupSize = 8, Sampling = sampling, LearningRate = 2e-2, WarmupRatio = 0, MaxSteps = Steps, Seed = 11, Loss = { Beta = 0 } };
    }

    internal static PolicyPrompt[] Prompts(QwenPolicy policy) =>
        [policy.CreatePrompt("Where is the square?", "left"), policy.CreatePrompt("Colour of the ball?", "red"), policy.CreatePrompt("How many cats?", "two")];

    /// <summary>The mean reward of 64 completions per prompt drawn by the policy's own sampler with a fixed seed: the same procedure for every policy.</summary>
    internal static async Task<double> EvaluateAsync(QwenPolicy policy)
    {
        var sampling = policy.CreateSamplingOptions();
        sampling.Temperature = 1.0;
        sampling.Seed = 12345;
        using var batch = await policy.Sampler.SampleAsync(Prompts(policy), 64, sampling);
        return batch.Texts.Average(LetterShareReward.Score);
    }
}
