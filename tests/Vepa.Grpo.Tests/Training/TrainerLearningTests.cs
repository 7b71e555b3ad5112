using TorchSharp;

namespace Vepa.Grpo.Tests.Training;

[Collection("Sequential")]
public sealed class TrainerLearningTests
{
    [Theory]
    [InlineData(0.01)]
    [InlineData(0.0)]
    public async Task A_tiny_policy_learns_the_toy_task_to_a_mean_reward_of_0_9(double beta)
    {
        torch.manual_seed(1);
        using var policy = new TorchPolicy(new TinyCausalModule(ToyTask.Vocabulary.Length, 16, seed: 3), ToyTask.Tokenizer);
        using var reward = new ExactAnswerRewardModel();
        var options = new GrpoTrainerOptions
        {
            GroupSize = 8,
            Sampling = ToyTask.Sampling(),
            LearningRate = 0.01,
            WarmupSteps = 0,
            MaxSteps = 200,
            Seed = 5,
            Loss = new PolicyLossOptions { Beta = beta },
        };
        using var trainer = new GrpoTrainer(policy, reward, options);
        if (beta == 0)
        {
            trainer.Reference.Should().BeNull("with β = 0 no reference model is kept at all");
        }

        var rewards = new List<double>();
        int? reached = null;
        for (int step = 0; step < 200 && reached is null; step++)
        {
            var record = await trainer.StepAsync(ToyTask.Batch(step, 8));
            double.IsFinite(record.Kl).Should().BeTrue();
            rewards.Add(record.RewardMean);
            if (rewards.Count >= 5 && rewards.TakeLast(5).Average() >= 0.9)
            {
                reached = step + 1;
            }
        }

        rewards.Take(5).Average().Should().BeLessThan(0.5, "the untrained policy is near chance");
        reached.Should().NotBeNull($"the mean reward over 5 steps should reach 0.9 within 200 steps; the last were {string.Join(", ", rewards.TakeLast(5))}");
        Console.WriteLine($"beta = {beta}: steps to a 5-step mean reward of 0.9: {reached}");
    }
}
