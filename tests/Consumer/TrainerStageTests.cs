using Vepa.Grpo;

namespace Vepa.Consumer;

/// <summary>
/// The stage as an application composes it from the packages: the getting-started program (tests/Consumer/FirstStage,
/// shown whole in docs/getting-started.md) with its own policy model and its own reward through DI, Vepa's policy adapter
/// and GRPO trainer. Its 30 steps must raise the reward.
/// </summary>
public sealed class TrainerStageTests
{
    [Fact]
    public async Task A_stage_composed_through_DI_raises_the_reward_in_a_few_trainer_steps()
    {
        IReadOnlyList<GrpoStepRecord> records = await FirstStage.Program.TrainAsync(steps: 30);

        records.Should().HaveCount(30);
        records.Should().OnlyContain(r => double.IsFinite(r.Kl) && double.IsFinite(r.Loss) && r.FailedRewardCount == 0);
        records.Take(3).Average(r => r.RewardMean).Should().BeLessThan(0.5, "the untrained policy answers near chance (1/8)");
        records.TakeLast(3).Average(r => r.RewardMean).Should().BeGreaterThanOrEqualTo(0.8,
            $"GRPO must raise the reward; means per step: {string.Join(", ", records.Select(r => r.RewardMean.ToString("F2", System.Globalization.CultureInfo.InvariantCulture)))}");
    }
}
