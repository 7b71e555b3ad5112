using TorchSharp;
using static TorchSharp.torch;

namespace Vepa.Grpo.Tests.Training;

[Collection("Sequential")]
public sealed class TrainerCheckpointTests
{
    private const int Steps = 6;

    [Fact]
    public async Task N_steps_straight_equal_N_over_2_steps_then_a_checkpoint_and_a_resume_for_N_over_2()
    {
        using var folder = new TempFolder();
        var straight = await RunAsync(Steps, resumeFrom: null, checkpointTo: null, folder.Path, "straight.jsonl");
        await RunAsync(Steps / 2, resumeFrom: null, checkpointTo: Path.Combine(folder.Path, "ckpt"), folder.Path, "resumed.jsonl");
        var resumed = await RunAsync(Steps, resumeFrom: Path.Combine(folder.Path, "ckpt"), checkpointTo: null, folder.Path, "resumed.jsonl");

        double largest = straight.Keys.Max(name => straight[name].Zip(resumed[name], (a, b) => Math.Abs(a - b)).Max());
        largest.Should().BeLessThan(1e-6);
        Console.WriteLine($"resume: largest parameter difference after {Steps} steps: {largest:E2}");

        var straightLog = File.ReadAllLines(Path.Combine(folder.Path, "straight.jsonl"));
        var resumedLog = File.ReadAllLines(Path.Combine(folder.Path, "resumed.jsonl"));
        resumedLog.Should().HaveCount(Steps, "the step log continues from the checkpoint's position");
        straightLog.Select(StepOf).Should().Equal(resumedLog.Select(StepOf));
    }

    [Fact]
    public async Task A_truncated_checkpoint_file_gives_an_error_naming_the_file()
    {
        using var folder = new TempFolder();
        string checkpoint = await WriteCheckpointAsync(folder.Path, hidden: 8);
        string file = Path.Combine(checkpoint, "policy.safetensors");
        using (var stream = new FileStream(file, FileMode.Open))
        {
            stream.SetLength(stream.Length - 10);
        }

        var resume = () => ResumeIntoFreshTrainerAsync(checkpoint, hidden: 8);
        (await resume.Should().ThrowAsync<InvalidDataException>())
            .Which.Message.Should().Contain(file).And.Contain("truncated");
    }

    [Fact]
    public async Task A_corrupted_metadata_file_gives_an_error_naming_the_file()
    {
        using var folder = new TempFolder();
        string checkpoint = await WriteCheckpointAsync(folder.Path, hidden: 8);
        string file = Path.Combine(checkpoint, "trainer.json");
        File.WriteAllText(file, "{ \"format\": \"vepa.grpo.checkpoint\", ");

        var resume = () => ResumeIntoFreshTrainerAsync(checkpoint, hidden: 8);
        (await resume.Should().ThrowAsync<InvalidDataException>())
            .Which.Message.Should().Contain(file).And.Contain("not valid JSON");
    }

    [Fact]
    public async Task A_checkpoint_of_another_model_shape_gives_an_error_naming_the_file_and_leaves_the_policy_unchanged()
    {
        using var folder = new TempFolder();
        string checkpoint = await WriteCheckpointAsync(folder.Path, hidden: 8);

        using var policy = new TorchPolicy(new TinyCausalModule(ToyTask.Vocabulary.Length, 12, seed: 9), ToyTask.Tokenizer);
        using var trainer = new GrpoTrainer(policy, new ExactAnswerRewardModel(), Options());
        var before = policy.GetState().ToDictionary(e => e.Key, e => e.Value.clone());
        var resume = () => trainer.ResumeAsync(checkpoint);

        (await resume.Should().ThrowAsync<InvalidDataException>())
            .Which.Message.Should().Contain(Path.Combine(checkpoint, "policy.safetensors")).And.Contain("does not fit");
        foreach (var (name, value) in policy.GetState())
        {
            value.allclose(before[name], 0, 0).Should().BeTrue($"{name} must be untouched");
        }

        trainer.CompletedSteps.Should().Be(0);
    }

    [Fact]
    public async Task Resuming_from_a_folder_without_a_checkpoint_is_an_error_not_a_fresh_start()
    {
        using var folder = new TempFolder();
        using var policy = new TorchPolicy(new TinyCausalModule(ToyTask.Vocabulary.Length, 8, seed: 9), ToyTask.Tokenizer);
        using var trainer = new GrpoTrainer(policy, new ExactAnswerRewardModel(), Options());

        var resume = () => trainer.ResumeAsync(folder.Path);

        (await resume.Should().ThrowAsync<FileNotFoundException>()).Which.Message.Should().Contain(folder.Path);
    }

    [Fact]
    public async Task TryResume_starts_fresh_only_where_there_is_no_checkpoint_and_still_rejects_a_broken_one()
    {
        using var folder = new TempFolder();
        using var policy = new TorchPolicy(new TinyCausalModule(ToyTask.Vocabulary.Length, 8, seed: 9), ToyTask.Tokenizer);
        using var trainer = new GrpoTrainer(policy, new ExactAnswerRewardModel(), Options());

        (await trainer.TryResumeAsync(Path.Combine(folder.Path, "missing"))).Should().BeFalse();
        (await trainer.TryResumeAsync(folder.Path)).Should().BeFalse("an empty folder holds no checkpoint");
        Directory.CreateDirectory(Path.Combine(folder.Path, "step-00000007.tmp"));
        (await trainer.TryResumeAsync(folder.Path)).Should().BeFalse("a half-written folder is not a checkpoint");
        trainer.CompletedSteps.Should().Be(0);

        string checkpoint = await WriteCheckpointAsync(folder.Path, hidden: 8);
        (await trainer.TryResumeAsync(folder.Path)).Should().BeTrue();
        trainer.CompletedSteps.Should().Be(1);

        File.WriteAllText(Path.Combine(checkpoint, "trainer.json"), "{");
        using var fresh = new TorchPolicy(new TinyCausalModule(ToyTask.Vocabulary.Length, 8, seed: 3), ToyTask.Tokenizer);
        using var other = new GrpoTrainer(fresh, new ExactAnswerRewardModel(), Options());
        var resume = () => other.TryResumeAsync(folder.Path);
        (await resume.Should().ThrowAsync<InvalidDataException>()).Which.Message.Should().Contain("trainer.json");
    }

    [Fact]
    public async Task A_fresh_run_rewrites_an_old_step_log_instead_of_appending_to_it()
    {
        using var folder = new TempFolder();
        string log = Path.Combine(folder.Path, "steps.jsonl");
        File.WriteAllLines(log, ["{\"step\":1}", "{\"step\":2}", "{\"step\":3}"]);
        using var policy = new TorchPolicy(new TinyCausalModule(ToyTask.Vocabulary.Length, 8, seed: 9), ToyTask.Tokenizer);
        using var trainer = new GrpoTrainer(policy, new ExactAnswerRewardModel(), Options(log));

        await trainer.StepAsync(ToyTask.Batch(0, 2));
        await trainer.StepAsync(ToyTask.Batch(1, 2));

        File.ReadAllLines(log).Select(StepOf).Should().Equal(1, 2);
    }

    [Fact]
    public async Task Only_the_newest_checkpoints_are_kept_and_resume_takes_the_newest()
    {
        using var folder = new TempFolder();
        using var policy = new TorchPolicy(new TinyCausalModule(ToyTask.Vocabulary.Length, 8, seed: 1), ToyTask.Tokenizer);
        var options = Options();
        options.CheckpointDirectory = folder.Path;
        options.CheckpointEverySteps = 1;
        options.KeepCheckpoints = 2;
        using var trainer = new GrpoTrainer(policy, new ExactAnswerRewardModel(r => r.Evidence.Length % 2), options);

        await trainer.TrainAsync(Enumerable.Range(0, 4).Select(i => ToyTask.Batch(i, 2)));

        Directory.GetDirectories(folder.Path).Select(Path.GetFileName).Order().Should().Equal("step-00000003", "step-00000004");
        using var fresh = new TorchPolicy(new TinyCausalModule(ToyTask.Vocabulary.Length, 8, seed: 2), ToyTask.Tokenizer);
        using var resumed = new GrpoTrainer(fresh, new ExactAnswerRewardModel(), Options());
        await resumed.ResumeAsync(folder.Path);
        resumed.CompletedSteps.Should().Be(4);
    }

    internal static GrpoTrainerOptions Options(string? log = null) => new()
    {
        Sampling = new SamplingOptions { Temperature = 1.0, MaxNewTokens = 3, StopTokenIds = [0] },
        LearningRate = 0.02,
        WarmupSteps = 2,
        Schedule = LearningRateSchedule.Cosine,
        MaxSteps = Steps,
        Iterations = 2,
        MiniBatchSize = 8,
        MicroBatchSize = 4,
        Loss = new PolicyLossOptions { Beta = 0.02 },
        Seed = 17,
        StepLogPath = log,
        KeepCheckpoints = 2,
    };

    private static async Task<Dictionary<string, double[]>> RunAsync(int steps, string? resumeFrom, string? checkpointTo, string folder, string log)
    {
        // A different initialisation each time: a resumed run must not depend on it.
        var module = new TinyCausalModule(ToyTask.Vocabulary.Length, 8, seed: resumeFrom is null ? 4 : 99);
        module.to(ScalarType.Float64);
        using var policy = new TorchPolicy(module, ToyTask.Tokenizer);
        using var reward = new ExactAnswerRewardModel(r => r.Evidence.Length % 3);
        using var trainer = new GrpoTrainer(policy, reward, Options(Path.Combine(folder, log)));
        if (resumeFrom is not null)
        {
            await trainer.ResumeAsync(resumeFrom);
            trainer.CompletedSteps.Should().Be(Steps / 2);
        }

        for (int step = trainer.CompletedSteps; step < steps; step++)
        {
            await trainer.StepAsync(ToyTask.Batch(step, 4));
        }

        if (checkpointTo is not null)
        {
            await trainer.SaveCheckpointAsync(checkpointTo);
        }

        return policy.GetState().ToDictionary(e => e.Key, e => e.Value.to(ScalarType.Float64).cpu().data<double>().ToArray());
    }

    private static async Task<string> WriteCheckpointAsync(string folder, int hidden)
    {
        using var policy = new TorchPolicy(new TinyCausalModule(ToyTask.Vocabulary.Length, hidden, seed: 1), ToyTask.Tokenizer);
        using var trainer = new GrpoTrainer(policy, new ExactAnswerRewardModel(r => r.Evidence.Length % 2), Options());
        await trainer.StepAsync(ToyTask.Batch(0, 4));
        return await trainer.SaveCheckpointAsync(folder);
    }

    private static async Task ResumeIntoFreshTrainerAsync(string checkpoint, int hidden)
    {
        using var policy = new TorchPolicy(new TinyCausalModule(ToyTask.Vocabulary.Length, hidden, seed: 2), ToyTask.Tokenizer);
        using var trainer = new GrpoTrainer(policy, new ExactAnswerRewardModel(), Options());
        await trainer.ResumeAsync(checkpoint);
    }

    private static int StepOf(string line) => System.Text.Json.JsonDocument.Parse(line).RootElement.GetProperty("step").GetInt32();
}
