using TorchSharp;
using static TorchSharp.torch;

namespace Vepa.Grpo.Tests.Training;

[Collection("Sequential")]
public sealed class TrainerLeakTests
{
    [Fact]
    public async Task The_live_tensor_count_stays_flat_over_50_steps()
    {
        using var threads = new SingleThreadedTorch();
        using var policy = new TorchPolicy(new TinyCausalModule(ToyTask.Vocabulary.Length, 8, seed: 4, imageSize: 4), ToyTask.Tokenizer);
        using var reward = new ExactAnswerRewardModel(r => r.Evidence.Length % 3);
        using var image = rand(3, 4, 4).DetachFromDisposeScope();
        PolicyPrompt[] prompts = [new("look", "red", [1], image), new("see", "blue", [1], image)];
        using var trainer = new GrpoTrainer(policy, reward, new GrpoTrainerOptions
        {
            Sampling = new SamplingOptions { Temperature = 1.0, MaxNewTokens = 3, StopTokenIds = [0] },
            LearningRate = 0.01,
            Iterations = 2,
            MiniBatchSize = 4,
            MicroBatchSize = 2,
            ZeroSignalGroups = ZeroSignalGroupHandling.Resample,
            ReferenceSyncSteps = 5,
        });

        await AssertLiveCountFlat(trainer, prompts, 50, "every tensor of a step must be released deterministically, not by the GC");
    }

    [Fact]
    public async Task The_live_tensor_count_stays_flat_in_bfloat16_with_a_float32_head_and_a_token_budget()
    {
        using var threads = new SingleThreadedTorch();
        var module = new TinyCausalModule(ToyTask.Vocabulary.Length, 8, seed: 4);
        module.to(ScalarType.BFloat16);
        using var policy = new TorchPolicy(module, ToyTask.Tokenizer);
        using var reward = new ExactAnswerRewardModel(r => r.Evidence.Length % 3);
        PolicyPrompt[] prompts = [ToyTask.Prompt(0), ToyTask.Prompt(1)];
        using var trainer = new GrpoTrainer(policy, reward, new GrpoTrainerOptions
        {
            Sampling = new SamplingOptions { Temperature = 1.0, MaxNewTokens = 3, StopTokenIds = [0] },
            LearningRate = 0.01,
            Iterations = 2,
            MiniBatchSize = 4,
            MicroBatchTokenBudget = 8,
            Precision = TrainingPrecision.BFloat16,
            LmHeadFloat32 = true,
        });

        await AssertLiveCountFlat(trainer, prompts, 20, "the masters' gradients, the float32 head copies and the narrowed micro-batches must be released deterministically");
    }

    private static async Task AssertLiveCountFlat(GrpoTrainer trainer, PolicyPrompt[] prompts, int steps, string because)
    {
        // Warm-up: lazily created state (gradients, AdamW moments) is not a leak.
        await trainer.StepAsync(prompts);
        await trainer.StepAsync(prompts);
        Collect();
        DisposeScopeManager.Statistics.Reset();
        long before = Tensor.TotalCount;
        for (int i = 0; i < steps; i++)
        {
            await trainer.StepAsync(prompts);
        }

        Tensor.TotalCount.Should().Be(before, because);
        DisposeScopeManager.Statistics.ThreadTotalLiveCount.Should().Be(0);
    }

    private static void Collect()
    {
        for (int i = 0; i < 3; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
    }
}
