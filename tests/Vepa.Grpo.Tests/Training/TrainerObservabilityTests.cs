using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using TorchSharp;
using static TorchSharp.torch;

namespace Vepa.Grpo.Tests.Training;

/// <summary>Memory, the reported objective, the per-update schedule, per-update and per-rollout statistics, strict options.</summary>
[Collection("Sequential")]
public sealed class TrainerObservabilityTests
{
    [Fact]
    public async Task Gradients_are_freed_after_the_optimizer_step_so_they_do_not_live_through_the_next_generation()
    {
        using var policy = NewPolicy();
        using var trainer = new GrpoTrainer(policy, Reward(), Options());

        var record = await trainer.StepAsync(ToyTask.Batch(0, 3));

        record.OptimizerSteps.Should().Be(1);
        policy.TrainableParameters.Count(p => p.grad is not null).Should().Be(0);
    }

    [Theory]
    [InlineData(LossAggregation.TokenMean)]
    [InlineData(LossAggregation.SequenceMeanTokenMean)]
    [InlineData(LossAggregation.TokenSum)]
    [InlineData(LossAggregation.ConstantNormalizer)]
    public async Task The_reported_loss_with_micro_batches_is_the_minibatch_objective_the_gradient_optimises(LossAggregation aggregation)
    {
        var whole = await OneStepAsync(aggregation, microBatch: null);
        var split = await OneStepAsync(aggregation, microBatch: 2);

        split.Record.Loss.Should().BeApproximately(whole.Record.Loss, 1e-12, "the loss of the whole minibatch, computed in one pass, is the reference");
        split.Parameters.Zip(whole.Parameters, (a, b) => Math.Abs(a - b)).Max().Should().BeLessThan(1e-9, "the same gradient up to summation order (AdamW divides by its square root)");
        split.Record.FirstUpdate!.Loss.Should().Be(split.Record.Loss);
    }

    [Fact]
    public async Task The_schedule_can_advance_per_optimizer_update_with_warm_up_and_horizon_in_updates()
    {
        using var policy = NewPolicy();
        var options = Options();
        options.GroupSize = 4;
        options.LearningRate = 0.1;
        options.Schedule = LearningRateSchedule.Linear;
        options.SchedulePer = LearningRateScheduleUnit.OptimizerUpdate;
        options.MaxScheduleUpdates = 12;
        options.WarmupSteps = 6;
        options.MiniBatchSize = 4;   // 3 prompts × G 4 = 12 rows: 3 updates per step
        using var trainer = new GrpoTrainer(policy, Reward(), options);

        var first = await trainer.StepAsync(ToyTask.Batch(0, 3));
        var second = await trainer.StepAsync(ToyTask.Batch(1, 3));

        first.LearningRate.Should().BeApproximately(0.1 * 1 / 6, 1e-15, "update 1 of a 6-update warm-up");
        second.LearningRate.Should().BeApproximately(0.1 * 4 / 6, 1e-15, "the second step starts at update 4");
        trainer.OptimizerUpdates.Should().Be(6);
        trainer.NextLearningRate.Should().BeApproximately(0.1 * (1 - (1.0 / 6)), 1e-15, "update 7: 1 of 6 decay updates done");
        new GrpoTrainerOptions { SchedulePer = LearningRateScheduleUnit.OptimizerUpdate }.Invoking(o => o.Validate())
            .Should().Throw<ArgumentException>().WithMessage("*MaxScheduleUpdates is required when SchedulePer is OptimizerUpdate*");
    }

    [Fact]
    public async Task With_several_updates_the_first_and_last_update_are_reported_and_the_step_values_are_their_means()
    {
        using var policy = NewPolicy();
        var options = Options();
        options.Iterations = 2;
        options.ShuffleMiniBatches = false;
        using var trainer = new GrpoTrainer(policy, Reward(), options);

        var record = await trainer.StepAsync(ToyTask.Batch(0, 3));

        record.OptimizerSteps.Should().Be(2);
        var (first, last) = (record.FirstUpdate!, record.LastUpdate!);
        (first.Iteration, last.Iteration).Should().Be((0, 1));
        first.MeanRatio.Should().BeApproximately(1.0, 1e-6, "the first update runs at π_θ = π_old");
        Math.Abs(last.MeanRatio - 1.0).Should().BeGreaterThan(1e-6, "the second pass sees the policy after the first update");
        record.GradNorm.Should().BeApproximately((first.GradNorm + last.GradNorm) / 2, 1e-12);
        record.Loss.Should().BeApproximately((first.Loss + last.Loss) / 2, 1e-12);
        record.MeanRatio.Should().BeApproximately(((first.MeanRatio * first.TokenCount) + (last.MeanRatio * last.TokenCount)) / (first.TokenCount + last.TokenCount), 1e-12);
    }

    [Fact]
    public async Task Each_rollouts_reward_and_advantage_are_in_the_step_record()
    {
        using var policy = NewPolicy();
        var options = Options();
        options.GroupSize = 4;
        using var trainer = new GrpoTrainer(policy, Reward(), options);
        var sampling = options.Sampling.Clone();
        sampling.Seed = StepSeeds.Derive(options.Seed, 1, StepSeeds.Sampling, 0);
        using var probe = await policy.Sampler.SampleAsync(ToyTask.Batch(0, 3), 4, sampling);
        double[] rewards = probe.Texts.Select(t => (double)(t.Length % 3)).ToArray();

        var record = await trainer.StepAsync(ToyTask.Batch(0, 3));

        record.RolloutRewards.Should().Equal(rewards);
        for (int p = 0; p < 3; p++)
        {
            var group = rewards.Skip(p * 4).Take(4).ToArray();
            double mean = group.Average();
            double std = Math.Sqrt(group.Sum(r => (r - mean) * (r - mean)) / 3);
            for (int g = 0; g < 4; g++)
            {
                double expected = std == 0 ? 0 : (group[g] - mean) / (std + 1e-4);
                record.RolloutAdvantages[(p * 4) + g].Should().BeApproximately(expected, 1e-12, $"group {p}, rollout {g}: (r − mean) / (Bessel std + 1e-4)");
            }
        }
    }

    [Theory]
    [InlineData("Vepa:Grpo:GroupSzie", "4", "GroupSzie")]
    [InlineData("Vepa:Grpo:Loss:Betta", "0.1", "Betta")]
    [InlineData("Vepa:Grpo:Sampling:Temprature", "0.7", "Temprature")]
    public void An_unknown_configuration_key_is_an_error_naming_it(string key, string value, string named)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Vepa:Grpo:MaxSteps"] = "10", [key] = value }).Build();
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(configuration);
        services.AddSingleton<IRewardModel>(Reward());
        services.AddGrpoTrainer(_ => NewPolicy(), "Vepa:Grpo");
        using var provider = services.BuildServiceProvider();

        var start = () => provider.GetRequiredService<IOptions<GrpoTrainerOptions>>().Value;

        start.Should().Throw<InvalidOperationException>().WithMessage($"*{named}*");
    }

    [Fact]
    public void Stop_and_pad_ids_outside_the_policys_vocabulary_are_refused_when_the_trainer_is_built()
    {
        using var policy = NewPolicy();
        var options = Options();
        options.Sampling.StopTokenIds = [0, 10, 99];
        options.Sampling.PadTokenId = 12;

        var build = () => new GrpoTrainer(policy, Reward(), options);

        build.Should().Throw<ArgumentException>().Which.Message.Should()
            .Contain("Sampling.StopTokenIds holds 10, 99, outside the policy's vocabulary [0, 10)")
            .And.Contain("Sampling.PadTokenId is 12, outside the policy's vocabulary [0, 10)");
    }

    private static async Task<(GrpoStepRecord Record, double[] Parameters)> OneStepAsync(LossAggregation aggregation, int? microBatch)
    {
        var module = new TinyCausalModule(ToyTask.Vocabulary.Length, 8, seed: 4);
        module.to(ScalarType.Float64);
        using var policy = new TorchPolicy(module, ToyTask.Tokenizer);
        var options = Options();
        options.GroupSize = 4;
        options.Sampling = ToyTask.Sampling(maxNewTokens: 5);
        options.MicroBatchSize = microBatch;
        options.Loss = new PolicyLossOptions { Beta = 0, Aggregation = aggregation, MaxCompletionLength = aggregation == LossAggregation.ConstantNormalizer ? 5 : null };
        using var trainer = new GrpoTrainer(policy, Reward(), options);
        var record = await trainer.StepAsync(ToyTask.Batch(0, 3));
        var parameters = policy.GetState().Values.SelectMany(t => t.to(ScalarType.Float64).cpu().data<double>().ToArray()).ToArray();
        return (record, parameters);
    }

    private static GrpoTrainerOptions Options() => new()
    {
        GroupSize = 3,
        Sampling = ToyTask.Sampling(),
        LearningRate = 0.05,
        WarmupSteps = 0,
        Loss = new PolicyLossOptions { Beta = 0 },
        Seed = 7,
    };

    private static TorchPolicy NewPolicy() => new(new TinyCausalModule(ToyTask.Vocabulary.Length, 8, seed: 4), ToyTask.Tokenizer);

    private static ExactAnswerRewardModel Reward() => new(r => r.Evidence.Length % 3);
}
