using Microsoft.Extensions.DependencyInjection;
using TorchSharp;
using Vepa.Grpo;
using Vepa.Rewards;
using static TorchSharp.torch;

namespace Vepa.Consumer;

/// <summary>
/// A GRPO stage composed from the packages: the host's reward through DI with a Vepa.Rewards pipeline stage, the host's
/// policy, and Vepa.Grpo's kernels (advantages, fused log-probs, clipped-ratio loss with k3 KL). The reward must move.
/// </summary>
public sealed class KernelStageTests
{
    private const int GroupSize = 8, Steps = 40;
    private const double Temperature = 1.0;

    [Fact]
    public async Task Grpo_steps_with_the_kernels_raise_the_reward()
    {
        var services = new ServiceCollection();
        services.AddRewardModel(new ExactAnswerReward()).UseConcurrencyLimit(4);
        await using ServiceProvider provider = services.BuildServiceProvider();
        IRewardModel reward = provider.GetRequiredService<IRewardModel>();

        var generator = new Generator(17);
        int prompts = ColourQuiz.Objects.Length;
        using var policy = new AnswerPolicy(prompts, ColourQuiz.Vocabulary.Length, hiddenSize: 16, generator);
        using var reference = new AnswerPolicy(prompts, ColourQuiz.Vocabulary.Length, hiddenSize: 16, generator);
        reference.load_state_dict(policy.state_dict());
        foreach (TorchSharp.Modules.Parameter parameter in reference.parameters())
        {
            parameter.requires_grad = false;
        }

        using var optimizer = optim.Adam(policy.parameters(), lr: 0.1);
        var lossOptions = new PolicyLossOptions { Beta = 0.01, KlEstimator = KlEstimator.K3 };

        int[] promptOfRow = Enumerable.Range(0, prompts).SelectMany(p => Enumerable.Repeat(p, GroupSize)).ToArray();
        var meanRewards = new List<double>();
        for (int step = 0; step < Steps; step++)
        {
            long[] tokens;
            using (var sampling = NewDisposeScope())
            {
                tokens = policy.Sample(tensor(promptOfRow.Select(p => (long)p).ToArray()), Temperature, generator).data<long>().ToArray();
            }

            RewardRequest[] requests = promptOfRow
                .Select((p, i) => new RewardRequest(ColourQuiz.Question(p), ColourQuiz.Gold(p), ColourQuiz.Vocabulary[tokens[i]]))
                .ToArray();
            IReadOnlyList<RewardResult> results = await reward.ScoreAsync(requests);
            results.Should().OnlyContain(r => r.IsScored);
            meanRewards.Add(results.Average(r => r.Value));

            using var scope = NewDisposeScope();
            Tensor ids = tensor(promptOfRow.Select(p => (long)p).ToArray());
            Tensor targets = tensor(tokens).reshape(-1, 1);
            Tensor mask = ones(targets.shape, dtype: ScalarType.Bool);
            using AdvantageResult advantages = GroupAdvantages.Compute(
                tensor(results.Select(r => r.Value).ToArray()).reshape(prompts, GroupSize));
            Tensor referenceLogProbs;
            using (no_grad())
            {
                referenceLogProbs = TokenLogProbs.FromHiddenStates(reference.HiddenStates(ids), reference.Head, targets, temperature: Temperature);
            }

            Tensor logProbs = TokenLogProbs.FromHiddenStates(policy.HiddenStates(ids), policy.Head, targets, temperature: Temperature);
            using PolicyLossResult loss = PolicyLoss.Compute(
                new PolicyLossInputs
                {
                    LogProbs = logProbs,
                    ReferenceLogProbs = referenceLogProbs,
                    Advantages = advantages.Advantages.reshape(-1),
                    Mask = mask,
                },
                lossOptions);
            optimizer.zero_grad();
            loss.Loss.backward();
            optimizer.step();
            double.IsFinite(loss.Statistics.MeanKl).Should().BeTrue();
        }

        meanRewards[0].Should().BeLessThan(0.5, "an untrained policy answers near chance (1/8)");
        meanRewards.TakeLast(5).Average().Should().BeGreaterThanOrEqualTo(0.8, $"GRPO must raise the reward; means per step: {string.Join(", ", meanRewards.Select(m => m.ToString("F2", System.Globalization.CultureInfo.InvariantCulture)))}");
    }
}
