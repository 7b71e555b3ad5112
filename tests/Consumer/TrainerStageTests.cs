using Microsoft.Extensions.DependencyInjection;
using TorchSharp;
using Vepa.Grpo;
using Vepa.Rewards;

namespace Vepa.Consumer;

/// <summary>
/// The stage as an application composes it from the packages: its own policy model and its own reward through DI, Vepa's
/// policy adapter and GRPO trainer. A few steps must raise the reward.
/// </summary>
public sealed class TrainerStageTests
{
    private static readonly string[] Vocabulary = ["<eos>", "<bos>", .. ColourQuiz.Objects, .. ColourQuiz.Vocabulary];

    [Fact]
    public async Task A_stage_composed_through_DI_raises_the_reward_in_a_few_trainer_steps()
    {
        #region snippet:first-stage
        // The prompts: question, gold answer, and the token ids the policy model reads (here: "<bos> ball" and so on).
        var tokenizer = new WordTokenizer(Vocabulary);
        IReadOnlyList<PolicyPrompt> Prompts() => Enumerable.Range(0, ColourQuiz.Objects.Length)
            .Select(i => new PolicyPrompt(ColourQuiz.Question(i), ColourQuiz.Gold(i), [tokenizer.IdOf("<bos>"), tokenizer.IdOf(ColourQuiz.Objects[i])]))
            .ToArray();

        var services = new ServiceCollection();
        services.AddRewardModel(new ExactAnswerReward())          // your IRewardModel (or SufficiencyRewardModel over a reader)
            .UseConcurrencyLimit(8);
        services.AddGrpoTrainer(_ => new TorchPolicy(new ColourAnswerModule(tokenizer.VocabularySize, hidden: 16, seed: 1), tokenizer))
            .Configure(o =>
            {
                o.GroupSize = 8;
                o.Sampling = new SamplingOptions { Temperature = 1.0, MaxNewTokens = 2, StopTokenIds = [tokenizer.IdOf("<eos>")] };
                o.LearningRate = 0.05;                             // a toy model; VEPA's default is 1e-6
                o.WarmupSteps = 0;
                o.MaxSteps = 30;
                o.Seed = 7;
            });

        await using ServiceProvider provider = services.BuildServiceProvider();
        GrpoTrainer trainer = provider.GetRequiredService<GrpoTrainer>();
        var records = new List<GrpoStepRecord>();
        for (int step = 0; step < 30; step++)
        {
            GrpoStepRecord record = await trainer.StepAsync(Prompts());
            records.Add(record);
            Console.WriteLine($"step {record.Step}: reward {record.RewardMean:F3}, failed {record.FailedRewardCount}, KL {record.Kl:F4}");
        }
        #endregion

        records.Should().OnlyContain(r => double.IsFinite(r.Kl) && double.IsFinite(r.Loss));
        records.Take(3).Average(r => r.RewardMean).Should().BeLessThan(0.5, "the untrained policy answers near chance (1/8)");
        records.TakeLast(3).Average(r => r.RewardMean).Should().BeGreaterThanOrEqualTo(0.8,
            $"GRPO must raise the reward; means per step: {string.Join(", ", records.Select(r => r.RewardMean.ToString("F2", System.Globalization.CultureInfo.InvariantCulture)))}");
    }
}
