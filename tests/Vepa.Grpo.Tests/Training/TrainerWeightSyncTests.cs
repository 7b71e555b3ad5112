using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace Vepa.Grpo.Tests.Training;

/// <summary>Weight versions, weight sync every k updates through the sampler's <see cref="IWeightSynchronizer"/>, failed syncs, resume.</summary>
[Collection("Sequential")]
public sealed class TrainerWeightSyncTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Weights_are_synced_every_k_updates_and_each_step_records_its_batch_version_and_lag(bool engineTagsBatches)
    {
        using var threads = new SingleThreadedTorch();
        using var policy = NewPolicy();
        using var engine = new FakeEngine(policy, tagsVersion: engineTagsBatches);
        var options = Options();
        options.WeightSyncEvery = 2;
        using var trainer = new GrpoTrainer(policy, Reward(), options, sampler: engine);
        var checksums = new List<double> { FakeEngine.Checksum(policy) };
        trainer.StepCompleted += (_, _) => checksums.Add(FakeEngine.Checksum(policy));

        var records = await trainer.TrainAsync(Enumerable.Range(0, 5).Select(s => ToyTask.Batch(s, 3)));

        // One optimizer update per step; a sync when ≥ 2 updates passed since the last: before steps 3 and 5.
        records.Should().OnlyContain(r => r.OptimizerSteps == 1);
        engine.SyncedVersions.Should().Equal(2, 4);
        engine.SampledVersions.Should().Equal(0, 0, 2, 2, 4);
        records.Select(r => r.RolloutWeightVersion).Should().Equal(0, 0, 2, 2, 4);
        records.Select(r => r.WeightVersionLag).Should().Equal(0, 1, 0, 1, 0);
        engine.SampledChecksums.Should().Equal(new[] { 0, 0, 2, 2, 4 }.Select(v => checksums[v]),
            "the engine samples from exactly the policy's weights of the version it was last sent");
        trainer.WeightVersion.Should().Be(5);
    }

    [Fact]
    public async Task A_periodic_evaluation_samples_after_the_sync_its_schedule_has_due_and_training_sees_the_same_syncs()
    {
        using var threads = new SingleThreadedTorch();
        using var policy = NewPolicy();
        using var engine = new FakeEngine(policy, tagsVersion: true);
        var options = Options();
        options.WeightSyncEvery = 2;
        options.EvaluateEvery = 1;
        options.EvaluationPrompts = [ToyTask.Prompt(0)];
        using var trainer = new GrpoTrainer(policy, Reward(), options, sampler: engine);

        var records = await trainer.TrainAsync(Enumerable.Range(0, 5).Select(s => ToyTask.Batch(s, 3)));

        // Training batches and evaluations interleave: step k's batch, then its evaluation after k updates. The syncs are the schedule's
        // (versions 2 and 4), sent before the evaluation that first sees them due, so evaluations 2 and 4 sample the updated weights.
        engine.SyncedVersions.Should().Equal(2, 4);
        engine.SampledVersions.Should().Equal(0, 0, 0, 2, 2, 2, 2, 4, 4, 4);
        records.Select(r => r.RolloutWeightVersion).Should().Equal([0, 0, 2, 2, 4], "training sees the versions it would without evaluations");
        records.Should().OnlyContain(r => r.Evaluation != null);
    }

    [Fact]
    public async Task A_failed_sync_stops_training_with_an_exception_that_says_why_after_writing_a_checkpoint()
    {
        using var threads = new SingleThreadedTorch();
        using var folder = new TempFolder();
        using var policy = NewPolicy();
        using var engine = new FakeEngine(policy) { FailSyncAt = 2 };
        var options = Options();
        options.CheckpointDirectory = folder.Path;
        using var trainer = new GrpoTrainer(policy, Reward(), options, sampler: engine);
        var records = new List<GrpoStepRecord>();

        var train = async () =>
        {
            await foreach (var record in trainer.TrainStreamAsync(ToAsync(Enumerable.Range(0, 5).Select(s => ToyTask.Batch(s, 3)))))
            {
                records.Add(record);
            }
        };

        var thrown = (await train.Should().ThrowAsync<GrpoWeightSyncException>()).Which;
        thrown.Message.Should().Contain("after step 2").And.Contain("weights of version 2")
            .And.Contain("InvalidOperationException: the engine at 127.0.0.1 is down").And.Contain("resume from the last checkpoint");
        thrown.InnerException.Should().BeOfType<InvalidOperationException>();
        thrown.CompletedSteps.Should().Be(2);
        thrown.Version.Should().Be(2);
        records.Should().HaveCount(2, "steps 1 and 2 completed; step 3 never sampled");
        engine.SampledVersions.Should().Equal(0, 1);
        trainer.CompletedSteps.Should().Be(2);
        Directory.Exists(Path.Combine(folder.Path, "step-00000002")).Should().BeTrue("the last completed step is checkpointed before the exception");
    }

    [Fact]
    public async Task A_resumed_run_keeps_its_weight_version_and_sends_the_weights_at_its_first_step()
    {
        using var threads = new SingleThreadedTorch();
        using var folder = new TempFolder();
        var options = Options();
        options.CheckpointDirectory = folder.Path;
        options.WeightSyncEvery = 10;
        using (var policy = NewPolicy())
        using (var engine = new FakeEngine(policy))
        using (var trainer = new GrpoTrainer(policy, Reward(), options, sampler: engine))
        {
            await trainer.TrainAsync(Enumerable.Range(0, 2).Select(s => ToyTask.Batch(s, 3)));
            engine.SyncedVersions.Should().BeEmpty("10 updates have not passed");
        }

        using var resumedPolicy = NewPolicy();
        using var freshEngine = new FakeEngine(resumedPolicy);
        using var resumed = new GrpoTrainer(resumedPolicy, Reward(), options, sampler: freshEngine);
        await resumed.ResumeAsync(folder.Path);
        resumed.WeightVersion.Should().Be(2);

        var record = await resumed.StepAsync(ToyTask.Batch(2, 3));

        freshEngine.SyncedVersions.Should().Equal([2], "the engine's weights are unknown after a resume");
        record.RolloutWeightVersion.Should().Be(2);
        record.WeightVersionLag.Should().Be(0);
        resumed.WeightVersion.Should().Be(3);
    }

    [Fact]
    public async Task A_remote_sampler_without_a_synchronizer_is_warned_about_once_and_its_lag_grows()
    {
        using var threads = new SingleThreadedTorch();
        using var policy = NewPolicy();
        using var engine = new FakeEngine(policy, offersSynchronizer: false, tagsVersion: false);
        var logs = new FakeLogCollector();
        using var loggerFactory = LoggerFactory.Create(b => b.AddProvider(new FakeLoggerProvider(logs)));
        using var trainer = new GrpoTrainer(policy, Reward(), Options(), sampler: engine, loggerFactory: loggerFactory);

        var records = await trainer.TrainAsync(Enumerable.Range(0, 3).Select(s => ToyTask.Batch(s, 3)));

        records.Select(r => r.WeightVersionLag).Should().Equal(0, 1, 2);
        logs.GetSnapshot().Count(l => l.Id.Id == 42).Should().Be(1);
    }

    [Fact]
    public async Task A_batch_tagged_with_a_version_the_policy_has_not_reached_breaks_the_sampler_contract()
    {
        using var threads = new SingleThreadedTorch();
        using var policy = NewPolicy();
        using var engine = new FakeEngine(policy) { TagOffset = 3 };
        using var trainer = new GrpoTrainer(policy, Reward(), Options(), sampler: engine);

        var step = () => trainer.StepAsync(ToyTask.Batch(0, 3));

        (await step.Should().ThrowAsync<InvalidOperationException>()).WithMessage("The sampler tagged its batch with weight version 3, but the policy has had only 0 optimizer updates*");
        trainer.CompletedSteps.Should().Be(0);
        var negative = () => new RolloutBatch([ToyTask.Prompt(0)], 2, TorchSharp.torch.zeros(2, 1, TorchSharp.torch.ScalarType.Int64),
            TorchSharp.torch.ones(2, 1, TorchSharp.torch.ScalarType.Bool), [false, false], ["a", "b"]) { WeightVersion = -1 };
        negative.Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be("value");
    }

    internal static TorchPolicy NewPolicy() => new(new TinyCausalModule(ToyTask.Vocabulary.Length, 8, seed: 4), ToyTask.Tokenizer);

    internal static ExactAnswerRewardModel Reward() => new(r => r.Evidence.Length % 3);

    internal static GrpoTrainerOptions Options() => new()
    {
        GroupSize = 4,
        Sampling = ToyTask.Sampling(),
        LearningRate = 0.05,
        WarmupSteps = 0,
        Loss = new PolicyLossOptions { Beta = 0 },
        Seed = 7,
    };

    internal static async IAsyncEnumerable<IReadOnlyList<PolicyPrompt>> ToAsync(IEnumerable<IReadOnlyList<PolicyPrompt>> batches)
    {
        foreach (var batch in batches)
        {
            await Task.Yield();
            yield return batch;
        }
    }
}
