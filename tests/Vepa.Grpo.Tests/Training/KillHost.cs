using TorchSharp;

namespace Vepa.Grpo.Tests.Training;

/// <summary>
/// The training process the random-kill test kills: resumes from its checkpoint folder when it holds a checkpoint, trains to
/// a fixed step with a checkpoint after every step, and prints "step N" after each. Big enough (hidden 192) that writing a
/// checkpoint takes a good share of the run, so random kills land in writes as well as in steps.
/// </summary>
internal static class KillHost
{
    public const string Command = "kill-host";

    public const int Hidden = 192;

    public static async Task<int> RunAsync(string folder, int steps, int keep)
    {
        torch.set_num_threads(1);
        using var policy = new TorchPolicy(new TinyCausalModule(ToyTask.Vocabulary.Length, Hidden, seed: 3), ToyTask.Tokenizer);
        using var reward = new ExactAnswerRewardModel(r => r.Evidence.Length % 3);
        using var trainer = new GrpoTrainer(policy, reward, Options(folder, steps, keep));
        await trainer.TryResumeAsync(folder);
        Console.WriteLine($"resumed {trainer.CompletedSteps}");
        var batches = Enumerable.Range(trainer.CompletedSteps, steps - trainer.CompletedSteps).Select(s => ToyTask.Batch(s, 3));
        await foreach (var record in trainer.TrainStreamAsync(ToAsync(batches)))
        {
            Console.WriteLine($"step {record.Step}");
        }

        return 0;
    }

    public static GrpoTrainerOptions Options(string folder, int steps, int keep) => new()
    {
        GroupSize = 3,
        Sampling = ToyTask.Sampling(),
        LearningRate = 0.01,
        WarmupSteps = 1,
        MaxSteps = steps,
        Iterations = 2,
        Loss = new PolicyLossOptions { Beta = 0.04 },
        Seed = 5,
        CheckpointDirectory = folder,
        CheckpointEverySteps = 1,
        KeepCheckpoints = keep,
    };

    private static async IAsyncEnumerable<IReadOnlyList<PolicyPrompt>> ToAsync(IEnumerable<IReadOnlyList<PolicyPrompt>> batches)
    {
        foreach (var batch in batches)
        {
            await Task.Yield();
            yield return batch;
        }
    }
}
