using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using TorchSharp;

namespace Vepa.Grpo.Tests.Training;

/// <summary>Checkpoint folders are safe: run ids, no writing over another run, pruning that keeps the newest, no stale temporaries, strict resumes.</summary>
[Collection("Sequential")]
public sealed class TrainerCheckpointFolderTests
{
    [Fact]
    public async Task A_fresh_run_refuses_a_folder_that_holds_another_runs_checkpoints()
    {
        using var folder = new TempFolder();
        string oldRun = await TrainAsync(folder.Path, steps: 3, seed: 1);
        using var policy = NewPolicy(seed: 2);
        var before = Snapshot(policy);
        using var trainer = new GrpoTrainer(policy, Reward(), Options(folder.Path));

        var train = () => trainer.TrainAsync(Batches(2));
        var save = () => trainer.SaveCheckpointAsync(folder.Path);

        (await train.Should().ThrowAsync<InvalidOperationException>()).Which.Message.Should()
            .Contain(folder.Path).And.Contain($"run {oldRun}: step-00000002, step-00000003").And.Contain("OverwriteCheckpoints");
        trainer.CompletedSteps.Should().Be(0, "the run refuses before its first step");
        Snapshot(policy).Should().Equal(before);
        await save.Should().ThrowAsync<InvalidOperationException>();
        Directory.GetDirectories(folder.Path).Select(Path.GetFileName).Order().Should().Equal("step-00000002", "step-00000003");
    }

    [Fact]
    public async Task With_overwrite_a_fresh_run_replaces_the_other_runs_checkpoints_and_resumes_its_own()
    {
        using var folder = new TempFolder();
        await TrainAsync(folder.Path, steps: 5, seed: 1);
        var options = Options(folder.Path);
        options.OverwriteCheckpoints = true;
        string newRun;
        using (var policy = NewPolicy(seed: 2))
        using (var trainer = new GrpoTrainer(policy, Reward(), options))
        {
            await trainer.TrainAsync(Batches(2));
            newRun = trainer.RunId;
        }

        Directory.GetDirectories(folder.Path).Select(Path.GetFileName).Order().Should().Equal("step-00000001", "step-00000002");
        using var resumedPolicy = NewPolicy(seed: 3);
        using var resumed = new GrpoTrainer(resumedPolicy, Reward(), Options(folder.Path));
        (await resumed.TryResumeAsync(folder.Path)).Should().BeTrue();
        resumed.CompletedSteps.Should().Be(2, "the old run's step 5 is gone, so it cannot be picked by accident");
        resumed.RunId.Should().Be(newRun);
    }

    [Fact]
    public async Task Pruning_never_deletes_the_checkpoint_just_written_even_when_the_run_resumed_from_an_earlier_one()
    {
        using var folder = new TempFolder();
        var options = Options(folder.Path);
        options.KeepCheckpoints = 1;
        options.CheckpointEverySteps = 1;
        using (var policy = NewPolicy(seed: 1))
        using (var trainer = new GrpoTrainer(policy, Reward(), options))
        {
            await trainer.StepAsync(ToyTask.Batch(0, 3));
            string first = await trainer.SaveCheckpointAsync(folder.Path);
            string keep = Path.Combine(folder.Path, "kept-step-1");
            CopyFolder(first, keep);
            await trainer.StepAsync(ToyTask.Batch(1, 3));
            await trainer.StepAsync(ToyTask.Batch(2, 3));
            await trainer.SaveCheckpointAsync(folder.Path);
            Directory.Move(keep, first);   // the run's step 1 and step 3, as after a resume from step 1 elsewhere
        }

        using var again = NewPolicy(seed: 5);
        using var resumed = new GrpoTrainer(again, Reward(), options);
        await resumed.ResumeAsync(Path.Combine(folder.Path, "step-00000001"));
        await resumed.StepAsync(ToyTask.Batch(1, 3));
        string written = await resumed.SaveCheckpointAsync(folder.Path);

        Directory.GetDirectories(folder.Path).Select(Path.GetFileName).Order().Should().Equal("step-00000002");
        written.Should().Be(Path.Combine(folder.Path, "step-00000002"));
    }

    [Fact]
    public async Task TryResumeAsync_refuses_a_folder_that_holds_several_runs_checkpoints()
    {
        using var folder = new TempFolder();
        using var other = new TempFolder();
        await TrainAsync(folder.Path, steps: 2, seed: 1);
        await TrainAsync(other.Path, steps: 4, seed: 2);
        CopyFolder(Path.Combine(other.Path, "step-00000004"), Path.Combine(folder.Path, "step-00000004"));   // an older tool, or a hand copy
        using var policy = NewPolicy(seed: 3);
        using var trainer = new GrpoTrainer(policy, Reward(), Options(null));

        var resume = () => trainer.TryResumeAsync(folder.Path);

        (await resume.Should().ThrowAsync<InvalidDataException>()).Which.Message.Should().Contain("checkpoints of 2 runs").And.Contain("step-00000004");
        trainer.CompletedSteps.Should().Be(0);
        await trainer.ResumeAsync(Path.Combine(folder.Path, "step-00000002"));
        trainer.CompletedSteps.Should().Be(2, "a checkpoint named by its own folder is unambiguous");
    }

    [Fact]
    public async Task Stale_temporary_folders_are_removed_on_start_and_after_a_save_and_an_interrupted_replacement_is_put_back()
    {
        using var folder = new TempFolder();
        await TrainAsync(folder.Path, steps: 2, seed: 1);
        string step2 = Path.Combine(folder.Path, "step-00000002");
        string stale = Path.Combine(folder.Path, ".tmp-step-00000003-0123456789abcdef0123456789abcdef");
        Directory.CreateDirectory(stale);
        File.WriteAllBytes(Path.Combine(stale, "policy.safetensors"), new byte[1000]);
        string moved = Path.Combine(folder.Path, ".old-step-00000002-fedcba9876543210fedcba9876543210");
        Directory.Move(step2, moved);   // killed between moving the old step 2 away and moving its replacement in

        using var policy = NewPolicy(seed: 3);
        using var trainer = new GrpoTrainer(policy, Reward(), Options(folder.Path));

        Directory.GetDirectories(folder.Path).Select(Path.GetFileName).Order().Should().Equal("step-00000001", "step-00000002");
        (await trainer.TryResumeAsync(folder.Path)).Should().BeTrue();
        trainer.CompletedSteps.Should().Be(2);

        Directory.CreateDirectory(stale);
        await trainer.StepAsync(ToyTask.Batch(2, 3));
        await trainer.SaveCheckpointAsync(folder.Path);
        Directory.GetDirectories(folder.Path).Select(Path.GetFileName).Order().Should().Equal("step-00000002", "step-00000003");
    }

    [Fact]
    public async Task A_resume_refuses_changes_that_break_exactness_and_applies_the_others_with_a_warning()
    {
        using var folder = new TempFolder();
        await TrainAsync(folder.Path, steps: 2, seed: 1);

        var changedG = Options(null);
        changedG.GroupSize = 4;
        changedG.Loss.Aggregation = LossAggregation.TokenMean;
        changedG.LearningRate = 0.5;
        using (var policy = NewPolicy(seed: 2))
        using (var trainer = new GrpoTrainer(policy, Reward(), changedG))
        {
            var resume = () => trainer.ResumeAsync(folder.Path);
            (await resume.Should().ThrowAsync<InvalidOperationException>()).Which.Message.Should()
                .Contain("GroupSize: 3 -> 4").And.Contain("Loss.Aggregation: \"SequenceMeanTokenMean\" -> \"TokenMean\"")
                .And.Contain("LearningRate: 0.02 -> 0.5").And.Contain("AllowResumeWithChangedOptions");
            trainer.CompletedSteps.Should().Be(0);
        }

        changedG.AllowResumeWithChangedOptions = true;
        using (var policy = NewPolicy(seed: 2))
        using (var trainer = new GrpoTrainer(policy, Reward(), changedG))
        {
            await trainer.ResumeAsync(folder.Path);
            trainer.CompletedSteps.Should().Be(2);
        }

        var logs = new FakeLogCollector();
        using var loggerFactory = LoggerFactory.Create(b => b.AddProvider(new FakeLoggerProvider(logs)));
        var changedRate = Options(null);
        changedRate.LearningRate = 0.5;
        changedRate.Loss.EpsilonHigh = 0.28;
        using (var policy = NewPolicy(seed: 2))
        using (var trainer = new GrpoTrainer(policy, Reward(), changedRate, loggerFactory: loggerFactory))
        {
            await trainer.ResumeAsync(folder.Path);
            trainer.NextLearningRate.Should().Be(0.5);
        }

        logs.GetSnapshot().Should().ContainSingle(r => r.Level == LogLevel.Warning).Which.Message.Should()
            .Contain("LearningRate: 0.02 -> 0.5").And.Contain("Loss.EpsilonHigh: 0.2 -> 0.28").And.NotContain("CheckpointDirectory");
    }

    [Fact]
    public async Task A_host_optimizer_is_checkpointed_and_resumes_exactly()
    {
        using var folder = new TempFolder();
        var options = Options(null);
        options.OptimizerFactory = parameters => torch.optim.SGD(parameters, 0.05, momentum: 0.9);
        var straight = await RunWithOptimizerAsync(options, 0, 4, null, null);
        string checkpoint = Path.Combine(folder.Path, "ckpt");
        await RunWithOptimizerAsync(options, 0, 2, null, checkpoint);
        var resumed = await RunWithOptimizerAsync(options, 2, 4, checkpoint, null);

        resumed.Should().Equal(straight, "the momentum buffers come back from optimizer.bin");
        File.Exists(Path.Combine(checkpoint, "step-00000002", "optimizer.bin")).Should().BeTrue();

        using var policy = NewPolicy(seed: 1);
        using var adam = new GrpoTrainer(policy, Reward(), Options(null));
        var resume = () => adam.ResumeAsync(checkpoint);
        (await resume.Should().ThrowAsync<InvalidDataException>()).Which.Message.Should().Contain("SGD").And.Contain("AdamW");

        // A host optimizer whose state does not fit the checkpoint's (the same type over fewer parameters) fails the resume before
        // anything is restored.
        var fewer = options.Clone();
        fewer.OptimizerFactory = parameters => torch.optim.SGD(parameters.Take(2), 0.05, momentum: 0.9);
        using var fresh = NewPolicy(seed: 1);
        var before = Snapshot(fresh);
        using var sgd = new GrpoTrainer(fresh, Reward(), fewer);
        resume = () => sgd.ResumeAsync(checkpoint);
        (await resume.Should().ThrowAsync<InvalidDataException>()).Which.Message.Should().Contain("does not load into this trainer's optimizer");
        Snapshot(fresh).Should().Equal(before, "the policy is not touched when the optimizer state fails");
        sgd.CompletedSteps.Should().Be(0);
    }

    internal static GrpoTrainerOptions Options(string? folder) => new()
    {
        GroupSize = 3,
        Sampling = ToyTask.Sampling(),
        LearningRate = 0.02,
        WarmupSteps = 0,
        MaxSteps = 20,
        Loss = new PolicyLossOptions { Beta = 0.02 },
        Seed = 11,
        CheckpointDirectory = folder,
        CheckpointEverySteps = folder is null ? null : 1,
        KeepCheckpoints = 2,
    };

    internal static TorchPolicy NewPolicy(int seed) => new(new TinyCausalModule(ToyTask.Vocabulary.Length, 8, seed: seed), ToyTask.Tokenizer);

    internal static ExactAnswerRewardModel Reward() => new(r => r.Evidence.Length % 3);

    internal static IEnumerable<IReadOnlyList<PolicyPrompt>> Batches(int count, int from = 0) => Enumerable.Range(from, count).Select(s => ToyTask.Batch(s, 3));

    internal static double[] Snapshot(TorchPolicy policy)
        => policy.GetState().Values.SelectMany(t => t.to(torch.ScalarType.Float64).cpu().data<double>().ToArray()).ToArray();

    private static async Task<string> TrainAsync(string folder, int steps, int seed)
    {
        using var policy = NewPolicy(seed);
        using var trainer = new GrpoTrainer(policy, Reward(), Options(folder));
        await trainer.TrainAsync(Batches(steps));
        return trainer.RunId;
    }

    private static async Task<double[]> RunWithOptimizerAsync(GrpoTrainerOptions options, int from, int to, string? resume, string? save)
    {
        using var policy = NewPolicy(seed: resume is null ? 1 : 42);
        using var trainer = new GrpoTrainer(policy, Reward(), options);
        if (resume is not null)
        {
            await trainer.ResumeAsync(resume);
        }

        foreach (var batch in Batches(to - from, from))
        {
            await trainer.StepAsync(batch);
        }

        if (save is not null)
        {
            await trainer.SaveCheckpointAsync(save);
        }

        return Snapshot(policy);
    }

    private static void CopyFolder(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (string file in Directory.GetFiles(from))
        {
            File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        }
    }
}
