using Xunit.Abstractions;

namespace Vepa.Grpo.Tests.Training;

/// <summary>One table of bad inputs (options, reward contract, model shapes, checkpoint folders) and the error each one gets.</summary>
[Collection("Sequential")]
public sealed class TrainerBadInputTableTests(ITestOutputHelper output)
{
    public static TheoryData<string> Cases => new(Table.Keys);

    private static readonly Dictionary<string, (Type Exception, string Message, Func<string, Task> Act)> Table = new()
    {
        ["options: G below 2"] = (typeof(ArgumentException), "GroupSize must be in [2, 4096]; got 1.",
            _ => Build(o => o.GroupSize = 1)),
        ["options: stop id outside the vocabulary"] = (typeof(ArgumentException), "Sampling.StopTokenIds holds 99, outside the policy's vocabulary [0, 10).",
            _ => Build(o => o.Sampling.StopTokenIds = [0, 99])),
        ["options: per-update schedule without a horizon"] = (typeof(ArgumentException), "MaxScheduleUpdates is required when SchedulePer is OptimizerUpdate",
            _ => Build(o => o.SchedulePer = LearningRateScheduleUnit.OptimizerUpdate)),
        ["options: minibatch larger than the batch"] = (typeof(ArgumentException), "MiniBatchSize (99) is larger than the batch: 3 prompts × G = 3 = 9 rows.",
            async _ =>
            {
                using var trainer = Trainer(o => o.MiniBatchSize = 99);
                await trainer.StepAsync(ToyTask.Batch(0, 3));
            }),
        ["reward contract: wrong result count"] = (typeof(RewardContractException), "The reward model called by the GRPO trainer returned 8 results for 9 requests",
            async _ =>
            {
                using var policy = TrainerCheckpointFolderTests.NewPolicy(1);
                using var trainer = new GrpoTrainer(policy, new ShortRewardModel(), TrainerCheckpointFolderTests.Options(null));
                await trainer.StepAsync(ToyTask.Batch(0, 3));
            }),
        ["model shapes: checkpoint of another model"] = (typeof(InvalidDataException), "the saved state does not fit this policy",
            async folder =>
            {
                await WriteCheckpointAsync(folder);
                using var policy = new TorchPolicy(new TinyCausalModule(ToyTask.Vocabulary.Length, 12, seed: 1), ToyTask.Tokenizer);
                using var trainer = new GrpoTrainer(policy, TrainerCheckpointFolderTests.Reward(), TrainerCheckpointFolderTests.Options(null));
                await trainer.ResumeAsync(folder);
            }),
        ["checkpoint folder: another run's checkpoints"] = (typeof(InvalidOperationException), "holds checkpoints of another run",
            async folder =>
            {
                await WriteCheckpointAsync(folder);
                using var trainer = Trainer(o => o.CheckpointDirectory = folder);
                await trainer.SaveCheckpointAsync(folder);
            }),
        ["checkpoint folder: no checkpoint to resume"] = (typeof(FileNotFoundException), "it holds no trainer.json and no complete step-NNNNNNNN checkpoint folder",
            async folder =>
            {
                using var trainer = Trainer(_ => { });
                await trainer.ResumeAsync(folder);
            }),
        ["checkpoint folder: resume with another G"] = (typeof(InvalidOperationException), "GroupSize: 3 -> 4",
            async folder =>
            {
                await WriteCheckpointAsync(folder);
                using var trainer = Trainer(o => o.GroupSize = 4);
                await trainer.ResumeAsync(folder);
            }),
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Each_bad_input_gets_a_clear_error_naming_the_problem(string name)
    {
        using var folder = new TempFolder();
        var (type, message, act) = Table[name];

        var error = await Record.ExceptionAsync(() => act(folder.Path));

        error.Should().NotBeNull().And.BeOfType(type);
        error!.Message.Should().Contain(message);
        output.WriteLine($"{name}: {type.Name}: {error.Message}");
    }

    private static Task Build(Action<GrpoTrainerOptions> change)
    {
        using var trainer = Trainer(change);
        return Task.CompletedTask;
    }

    private static GrpoTrainer Trainer(Action<GrpoTrainerOptions> change)
    {
        var options = TrainerCheckpointFolderTests.Options(null);
        change(options);
        return new GrpoTrainer(TrainerCheckpointFolderTests.NewPolicy(2), TrainerCheckpointFolderTests.Reward(), options);
    }

    private static async Task WriteCheckpointAsync(string folder)
    {
        using var policy = TrainerCheckpointFolderTests.NewPolicy(1);
        using var trainer = new GrpoTrainer(policy, TrainerCheckpointFolderTests.Reward(), TrainerCheckpointFolderTests.Options(null));
        await trainer.StepAsync(ToyTask.Batch(0, 3));
        await trainer.SaveCheckpointAsync(folder);
    }

    /// <summary>Returns one result fewer than asked for.</summary>
    private sealed class ShortRewardModel : IRewardModel
    {
        public Task<IReadOnlyList<RewardResult>> ScoreAsync(IReadOnlyList<RewardRequest> requests, CancellationToken cancellationToken = default)
            => Task.FromResult<IReadOnlyList<RewardResult>>(requests.Skip(1).Select(_ => RewardResult.Scored(1)).ToArray());

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }
}
