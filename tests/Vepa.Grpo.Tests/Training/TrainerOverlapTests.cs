using TorchSharp;

namespace Vepa.Grpo.Tests.Training;

/// <summary>Overlapped generation: batch k + 1 is sampled from the weights after step k − 1 while step k trains.</summary>
[Collection("Sequential")]
public sealed class TrainerOverlapTests
{
    [Fact]
    public async Task With_the_policys_own_sampler_batch_k_plus_1_comes_from_a_copy_of_the_weights_after_step_k_minus_1()
    {
        using var threads = new SingleThreadedTorch();
        var sampled = new List<double>();
        using var policy = new RecordingPolicy(TrainerWeightSyncTests.NewPolicy(), sampled);
        var options = TrainerWeightSyncTests.Options();
        options.OverlapGeneration = true;
        using var trainer = new GrpoTrainer(policy, TrainerWeightSyncTests.Reward(), options);
        var checksums = new List<double> { FakeEngine.Checksum(policy) };
        trainer.StepCompleted += (_, _) => checksums.Add(FakeEngine.Checksum(policy));

        var records = await trainer.TrainAsync(Enumerable.Range(0, 5).Select(s => ToyTask.Batch(s, 3)));

        checksums.Distinct().Should().HaveCount(6, "every step changed the weights");
        sampled.Should().Equal(new[] { 0, 0, 1, 2, 3 }.Select(v => checksums[v]), "batch 1 in line; batch k + 1 from the weights after step k − 1");
        records.Select(r => r.RolloutWeightVersion).Should().Equal(0, 0, 1, 2, 3);
        records.Select(r => r.WeightVersionLag).Should().Equal(0, 1, 1, 1, 1);

        // Old log-probs are the behaviour copy's: the sampler agrees with them, and the first update's ratio π_θ / π_old moves
        // off 1 once the batch lags (at step 1, μ = 1 on-policy, it is exactly 1).
        records.Should().OnlyContain(r => r.SamplerKl < 1e-9);
        records[0].MeanRatio.Should().BeApproximately(1.0, 1e-7);
        records.Skip(1).Should().OnlyContain(r => Math.Abs(r.MeanRatio - 1.0) > 1e-6);
    }

    [Fact]
    public async Task With_an_engine_the_next_batch_samples_while_the_step_trains_and_weights_are_sent_only_when_it_is_idle()
    {
        using var threads = new SingleThreadedTorch();
        using var policy = TrainerWeightSyncTests.NewPolicy();
        using var engine = new FakeEngine(policy);
        var options = TrainerWeightSyncTests.Options();
        options.OverlapGeneration = true;
        using var trainer = new GrpoTrainer(policy, TrainerWeightSyncTests.Reward(), options, sampler: engine);

        var records = await trainer.TrainAsync(Enumerable.Range(0, 5).Select(s => ToyTask.Batch(s, 3)));

        engine.SampledVersions.Should().Equal(0, 0, 1, 2, 3);
        engine.SyncedVersions.Should().Equal(1, 2, 3, 4);
        engine.SyncedWhileSampling.Should().BeFalse();
        records.Select(r => r.WeightVersionLag).Should().Equal(0, 1, 1, 1, 1);
        records.Skip(1).Should().OnlyContain(r => r.SamplerKl > 0, "the trainer's old log-probs are one step newer than the engine's: the correction sees the lag");
    }

    [Fact]
    public async Task An_overlapped_run_is_deterministic_given_the_seed()
    {
        var first = await RunAsync();
        var second = await RunAsync();

        second.Rewards.Should().Equal(first.Rewards);
        second.Parameters.Should().Equal(first.Parameters);

        static async Task<(double[] Rewards, float[] Parameters)> RunAsync()
        {
            using var threads = new SingleThreadedTorch();
            using var policy = TrainerWeightSyncTests.NewPolicy();
            var options = TrainerWeightSyncTests.Options();
            options.OverlapGeneration = true;
            using var trainer = new GrpoTrainer(policy, TrainerWeightSyncTests.Reward(), options);
            var records = await trainer.TrainAsync(Enumerable.Range(0, 4).Select(s => ToyTask.Batch(s, 3)));
            var parameters = policy.TrainableParameters.SelectMany(p => p.detach().cpu().data<float>().ToArray()).ToArray();
            return (records.SelectMany(r => r.RolloutRewards).ToArray(), parameters);
        }
    }

    [Fact]
    public async Task An_overlapped_run_still_learns_the_toy_task()
    {
        const int MaxSteps = 150;
        using var threads = new SingleThreadedTorch();
        using var policy = ToyTask.NewLearner();
        using var reward = new ExactAnswerRewardModel(ToyTask.FirstWordReward);
        var options = ToyTask.LearnerOptions(beta: 0.01, MaxSteps);
        options.OverlapGeneration = true;
        using var trainer = new GrpoTrainer(policy, reward, options);
        var rewards = new List<double>();
        int? reached = null;
        await foreach (var record in trainer.TrainStreamAsync(TrainerWeightSyncTests.ToAsync(Enumerable.Range(0, MaxSteps).Select(s => ToyTask.Batch(s, 8)))))
        {
            rewards.Add(record.RewardMean);
            if (rewards.Count >= 5 && rewards.TakeLast(5).Average() >= 0.9)
            {
                reached = record.Step;
                break;   // leaves a batch sampled ahead, which the stream's disposal discards
            }
        }

        rewards[0].Should().BeLessThan(0.3);
        reached.Should().NotBeNull($"the mean reward over 5 steps should reach 0.9 within {MaxSteps} steps; the last were {string.Join(", ", rewards.TakeLast(5))}");
        Console.WriteLine($"toy task, overlapped: first step reward {rewards[0]:F3}; 5-step mean reward >= 0.9 after {reached} steps");
    }

    [Fact]
    public async Task The_live_tensor_count_stays_flat_over_overlapped_steps()
    {
        using var threads = new SingleThreadedTorch();
        using var policy = TrainerWeightSyncTests.NewPolicy();
        var options = TrainerWeightSyncTests.Options();
        options.OverlapGeneration = true;
        options.Loss = new PolicyLossOptions { Beta = 0.01 };
        using var trainer = new GrpoTrainer(policy, TrainerWeightSyncTests.Reward(), options);

        // Warm-up: the sampling copy, gradients and AdamW moments are created once and kept.
        await trainer.TrainAsync(Enumerable.Range(0, 3).Select(s => ToyTask.Batch(s, 2)));
        Collect();
        long before = torch.Tensor.TotalCount;
        await trainer.TrainAsync(Enumerable.Range(3, 30).Select(s => ToyTask.Batch(s, 2)));

        // No collection here: a tensor left to the finalizer would still count.
        torch.Tensor.TotalCount.Should().Be(before, "the batches sampled ahead and their behaviour log-probs are released with their steps");

        static void Collect()
        {
            for (int i = 0; i < 3; i++)
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
            }
        }
    }

    [Fact]
    public void Overlap_is_refused_with_a_sampler_that_shares_the_policys_weights_but_is_not_its_own_and_with_resampling()
    {
        using var policy = TrainerWeightSyncTests.NewPolicy();
        using var other = TrainerWeightSyncTests.NewPolicy();
        var options = TrainerWeightSyncTests.Options();
        options.OverlapGeneration = true;

        var build = () => new GrpoTrainer(policy, TrainerWeightSyncTests.Reward(), options, sampler: other.Sampler);

        build.Should().Throw<ArgumentException>().Which.ParamName.Should().Be("sampler");
        options.ZeroSignalGroups = ZeroSignalGroupHandling.Resample;
        options.Invoking(o => o.Validate()).Should().Throw<ArgumentException>()
            .WithMessage("*OverlapGeneration cannot be combined with ZeroSignalGroups = Resample*");
    }

    [Fact]
    public void The_new_options_default_to_sync_every_update_auto_correction_on_and_no_overlap()
    {
        var options = new GrpoTrainerOptions();
        options.WeightSyncEvery.Should().Be(1);
        options.AutoSamplerCorrection.Should().BeTrue();
        options.OverlapGeneration.Should().BeFalse();
        options.WeightSyncEvery = 0;
        options.Invoking(o => o.Validate()).Should().Throw<ArgumentException>().WithMessage("*WeightSyncEvery must be >= 1*");
    }
}
