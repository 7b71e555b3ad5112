using TorchSharp;

namespace Vepa.Grpo.Tests.Training;

[Collection("Sequential")]
public sealed class TrainerLearningTests
{
    [Theory]
    [InlineData(0.01)]
    [InlineData(0.0)]
    public async Task A_tiny_policy_learns_the_toy_task_from_near_chance_to_a_mean_reward_of_0_9(double beta)
    {
        const int MaxSteps = 150;
        // G = 16, μ = 2 and DAPO's clip-higher keep exploring; with β = 0 some seeds still collapse onto a wrong answer for
        // one question (no rollout of the right one, so no signal): the known GRPO exploration failure. Seeds are fixed.
        using var threads = new SingleThreadedTorch();
        using var policy = ToyTask.NewLearner();
        using var reward = new ExactAnswerRewardModel(ToyTask.FirstWordReward);
        var options = ToyTask.LearnerOptions(beta, MaxSteps);
        using var trainer = new GrpoTrainer(policy, reward, options);
        if (beta == 0)
        {
            trainer.Reference.Should().BeNull("with β = 0 no reference model is kept at all");
        }

        var rewards = new List<double>();
        int? reached = null;
        for (int step = 0; step < MaxSteps && reached is null; step++)
        {
            var record = await trainer.StepAsync(ToyTask.Batch(step, 8));
            double.IsFinite(record.Kl).Should().BeTrue($"KL must stay finite (step {step + 1})");
            if (beta == 0)
            {
                record.Kl.Should().Be(0);
            }

            rewards.Add(record.RewardMean);
            if (rewards.Count >= 5 && rewards.TakeLast(5).Average() >= 0.9)
            {
                reached = step + 1;
            }
        }

        rewards[0].Should().BeLessThan(0.3, "the untrained policy is near chance (1 in 10 per word)");
        reached.Should().NotBeNull($"the mean reward over 5 steps should reach 0.9 within {MaxSteps} steps; the last were {string.Join(", ", rewards.TakeLast(5))}");
        Console.WriteLine($"toy task, beta = {beta}: first step reward {rewards[0]:F3}; 5-step mean reward >= 0.9 after {reached} steps");
    }
}
