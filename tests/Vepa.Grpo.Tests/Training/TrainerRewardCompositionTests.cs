using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using TorchSharp;

namespace Vepa.Grpo.Tests.Training;

/// <summary>Several weighted rewards in the trainer: combined as documented (checked in float64 by hand), scored at the same time, failing per component.</summary>
[Collection("Sequential")]
public sealed class TrainerRewardCompositionTests
{
    // Scripted by row index, so the expected rewards do not depend on what the policy wrote: 12 rows = 3 prompts × G = 4.
    private static double Accuracy(int row) => row % 3 == 0 ? 1.0 : 0.0;

    private static double Format(int row) => ((row * 7) % 5) / 4.0;

    [Fact]
    public async Task Sum_then_normalize_trains_on_the_weighted_sum_of_the_components()
    {
        using var policy = NewPolicy();
        using var accuracy = new RowRewardModel(Accuracy);
        using var format = new RowRewardModel(Format);
        using var trainer = new GrpoTrainer(policy, [new RewardComponent("accuracy", accuracy), new RewardComponent("format", format, 0.25)], Options());

        var record = await trainer.StepAsync(Prompts());

        double[] combined = Enumerable.Range(0, 12).Select(i => Accuracy(i) + (0.25 * Format(i))).ToArray();
        record.RolloutRewards.Should().Equal(combined, (a, b) => Math.Abs(a - b) < 1e-15);
        record.RolloutAdvantages.Should().Equal(GroupZ(combined, 4, 1e-4), (a, b) => Math.Abs(a - b) < 1e-12);
        record.RewardMean.Should().BeApproximately(combined.Average(), 1e-15);
        record.ComponentRewardMeans.Should().BeEquivalentTo(new Dictionary<string, double>
        {
            ["accuracy"] = Enumerable.Range(0, 12).Average(Accuracy),
            ["format"] = Enumerable.Range(0, 12).Average(Format),
        });
        record.ComponentFailureCounts.Should().BeEquivalentTo(new Dictionary<string, int> { ["accuracy"] = 0, ["format"] = 0 });
        record.RewardComponents.Keys.Should().BeEquivalentTo("accuracy/s", "format/s");
    }

    [Fact]
    public async Task Normalize_then_sum_z_scores_each_component_in_its_group_then_the_weighted_sum_over_the_batch()
    {
        using var policy = NewPolicy();
        using var accuracy = new RowRewardModel(Accuracy);
        using var format = new RowRewardModel(Format);
        var options = Options();
        options.Advantages = new AdvantageOptions { Combination = RewardCombination.NormalizeThenSum, Epsilon = 1e-6 };
        using var trainer = new GrpoTrainer(policy, [new RewardComponent("accuracy", accuracy, 2.0), new RewardComponent("format", format, -0.5)], options);

        var record = await trainer.StepAsync(Prompts());

        // GDPO by hand: z_k per group, S = 2 z_acc − 0.5 z_fmt, then (S − mean) / (std + ε) over the batch (Bessel).
        double[] za = GroupZ(Enumerable.Range(0, 12).Select(Accuracy).ToArray(), 4, 1e-6);
        double[] zf = GroupZ(Enumerable.Range(0, 12).Select(Format).ToArray(), 4, 1e-6);
        double[] s = za.Zip(zf, (a, f) => (2.0 * a) - (0.5 * f)).ToArray();
        double mean = s.Average();
        double std = Math.Sqrt(s.Sum(v => (v - mean) * (v - mean)) / (s.Length - 1));
        record.RolloutAdvantages.Should().Equal(s.Select(v => (v - mean) / (std + 1e-6)), (a, b) => Math.Abs(a - b) < 1e-12);
        record.RolloutRewards.Should().Equal(Enumerable.Range(0, 12).Select(i => (2.0 * Accuracy(i)) - (0.5 * Format(i))), (a, b) => Math.Abs(a - b) < 1e-15);
    }

    [Fact]
    public async Task One_reward_with_normalize_then_sum_trains_exactly_as_with_sum_then_normalize()
    {
        var records = new List<GrpoStepRecord>();
        var states = new List<double[]>();
        foreach (var combination in new[] { RewardCombination.SumThenNormalize, RewardCombination.NormalizeThenSum })
        {
            using var policy = NewPolicy();
            using var reward = new RowRewardModel(i => ((i * 5) % 7) / 3.0);
            var options = Options();
            options.Advantages = new AdvantageOptions { Combination = combination };
            using var trainer = new GrpoTrainer(policy, reward, options);
            records.Add(await trainer.StepAsync(Prompts()));
            states.Add(Snapshot(policy));
        }

        // A single reward is normalised within its group only: re-normalising over the batch would change every advantage.
        double[] rewards = Enumerable.Range(0, 12).Select(i => ((i * 5) % 7) / 3.0).ToArray();
        records[1].RolloutAdvantages.Should().Equal(GroupZ(rewards, 4, 1e-4), (a, b) => Math.Abs(a - b) < 1e-12);
        records[1].RolloutAdvantages.Should().Equal(records[0].RolloutAdvantages);
        states[1].Should().Equal(states[0]);
    }

    [Fact]
    public async Task Components_are_scored_at_the_same_time()
    {
        // Each model blocks its thread until all three have arrived: scored one after the other, the first would wait alone and time out.
        using var barrier = new Barrier(3);
        var arrived = new ConcurrentBag<bool>();
        double Meet(int row)
        {
            if (row == 0)
            {
                arrived.Add(barrier.SignalAndWait(TimeSpan.FromSeconds(20)));
            }

            return row % 2;
        }

        using var policy = NewPolicy();
        using var a = new RowRewardModel(Meet);
        using var b = new RowRewardModel(Meet);
        using var c = new RowRewardModel(Meet);
        using var trainer = new GrpoTrainer(policy, [new RewardComponent("a", a), new RewardComponent("b", b), new RewardComponent("c", c)], Options());

        await trainer.StepAsync(Prompts());

        arrived.Should().Equal(true, true, true);
    }

    [Fact]
    public async Task A_rollout_whose_component_failed_is_excluded_and_counted_for_that_component()
    {
        using var policy = NewPolicy();
        using var accuracy = new RowRewardModel(Accuracy);
        using var format = new RowRewardModel(Format) { FailRows = { 1, 6 } };
        using var trainer = new GrpoTrainer(policy, [new RewardComponent("accuracy", accuracy), new RewardComponent("format", format)], Options());

        var record = await trainer.StepAsync(Prompts());

        record.FailedRewardCount.Should().Be(2);
        record.ComponentFailureCounts.Should().BeEquivalentTo(new Dictionary<string, int> { ["accuracy"] = 0, ["format"] = 2 });
        record.RewardFailureReason.Should().Be("format: scripted failure");
        record.RolloutRewards[1].Should().Be(double.NaN);
        record.RolloutAdvantages[1].Should().Be(0);
        record.RolloutAdvantages[6].Should().Be(0);
        record.ComponentRewardMeans["accuracy"].Should().BeApproximately(Enumerable.Range(0, 12).Average(Accuracy), 1e-15, "a component's mean is over the rollouts it scored");
        record.ComponentRewardMeans["format"].Should().BeApproximately(Enumerable.Range(0, 12).Where(i => i is not 1 and not 6).Average(Format), 1e-15);
        record.AllRewardsFailed.Should().BeFalse();
    }

    [Fact]
    public async Task A_component_that_throws_makes_the_step_unusable_and_TrainAsync_stops_with_its_reason()
    {
        using var policy = NewPolicy();
        using var accuracy = new RowRewardModel(Accuracy);
        using var format = new RowRewardModel(Format) { ThrowWith = new InvalidCastException("bad label") };
        var options = Options();
        options.MaxConsecutiveFailedRewardSteps = 2;
        using var trainer = new GrpoTrainer(policy, [new RewardComponent("accuracy", accuracy), new RewardComponent("format", format)], options);
        var before = Snapshot(policy);
        var records = new List<GrpoStepRecord>();

        var train = async () =>
        {
            await foreach (var record in trainer.TrainStreamAsync(Batches(5)))
            {
                records.Add(record);
            }
        };

        var error = (await train.Should().ThrowAsync<GrpoRewardFailureException>()).Which;
        error.Reason.Should().Be("format: the reward model threw InvalidCastException: bad label");
        records.Should().HaveCount(2).And.OnlyContain(r => r.AllRewardsFailed && r.OptimizerSteps == 0);
        records[0].ComponentFailureCounts.Should().BeEquivalentTo(new Dictionary<string, int> { ["accuracy"] = 0, ["format"] = 12 });
        Snapshot(policy).Should().Equal(before);
    }

    [Fact]
    public async Task A_configuration_error_in_one_component_stops_the_step_and_cancels_the_others()
    {
        using var policy = NewPolicy();
        using var slow = new ExactAnswerRewardModel { Delay = TimeSpan.FromMinutes(5) };
        var cause = new RewardConfigurationException("HTTP 401 Unauthorized");
        using var format = new RowRewardModel(Format) { ThrowWith = cause };
        var logs = new FakeLogCollector();
        using var loggerFactory = LoggerFactory.Create(b => b.AddProvider(new FakeLoggerProvider(logs)));
        using var trainer = new GrpoTrainer(policy, [new RewardComponent("slow", slow), new RewardComponent("format", format)], Options(), loggerFactory: loggerFactory);

        var step = () => trainer.StepAsync(Prompts());

        // The slow component is cancelled rather than awaited for five minutes, and is not reported as a timeout.
        var watch = System.Diagnostics.Stopwatch.StartNew();
        (await step.Should().ThrowAsync<RewardConfigurationException>()).Which.Should().BeSameAs(cause);
        watch.Elapsed.Should().BeLessThan(TimeSpan.FromMinutes(1));
        trainer.CompletedSteps.Should().Be(0);
        logs.GetSnapshot().Should().NotContain(r => r.Level >= LogLevel.Warning);
    }

    [Fact]
    public void Bad_components_are_rejected_with_the_argument_and_the_problem()
    {
        using var policy = NewPolicy();
        using var model = new RowRewardModel(Accuracy);
        var overlong = Options();
        overlong.OverlongBufferLength = 2;

        FluentActions.Invoking(() => new GrpoTrainer(policy, Array.Empty<RewardComponent>(), Options()))
            .Should().Throw<ArgumentException>().WithMessage("A trainer needs at least one reward component; got none.*rewardComponents*");
        FluentActions.Invoking(() => new GrpoTrainer(policy, [new RewardComponent("a", model), new RewardComponent("a", model)], Options()))
            .Should().Throw<ArgumentException>().WithMessage("*'a' appears twice (rewardComponents[1])*");
        FluentActions.Invoking(() => new GrpoTrainer(policy, [new RewardComponent("overlong", model)], overlong))
            .Should().Throw<ArgumentException>().WithMessage("*rewardComponents[0] is named 'overlong'*");
        FluentActions.Invoking(() => new RewardComponent("a", model, double.NaN))
            .Should().Throw<ArgumentException>().WithMessage("The weight of reward component 'a' must be finite; got NaN.*weight*");
        FluentActions.Invoking(() => new RewardComponent(" ", model)).Should().Throw<ArgumentException>();
        FluentActions.Invoking(() => new RewardComponent("a", null!)).Should().Throw<ArgumentNullException>();
    }

    [Fact]
    public async Task AddGrpoTrainer_composes_the_components_the_factory_returns()
    {
        var services = new ServiceCollection();
        services.AddKeyedSingleton<IRewardModel>("accuracy", new RowRewardModel(Accuracy));
        services.AddKeyedSingleton<IRewardModel>("format", new RowRewardModel(Format));
        services.AddGrpoTrainer(
                _ => NewPolicy(),
                p => [new RewardComponent("accuracy", p.GetRequiredKeyedService<IRewardModel>("accuracy")), new RewardComponent("format", p.GetRequiredKeyedService<IRewardModel>("format"), 0.5)])
            .Configure(o =>
            {
                o.Sampling = Options().Sampling;
                o.Loss = new PolicyLossOptions { Beta = 0 };
            });
        await using var provider = services.BuildServiceProvider(validateScopes: true);

        var record = await provider.GetRequiredService<GrpoTrainer>().StepAsync(Prompts());

        record.RolloutRewards.Should().Equal(Enumerable.Range(0, 12).Select(i => Accuracy(i) + (0.5 * Format(i))), (a, b) => Math.Abs(a - b) < 1e-15);
    }

    /// <summary>Group z-scores in float64 with plain loops: (r − mean) / (Bessel std + ε), 0 for a constant group.</summary>
    internal static double[] GroupZ(double[] r, int g, double eps)
    {
        var z = new double[r.Length];
        for (int p = 0; p < r.Length / g; p++)
        {
            var group = r.Skip(p * g).Take(g).ToArray();
            double mean = group.Average();
            double std = Math.Sqrt(group.Sum(v => (v - mean) * (v - mean)) / (g - 1));
            for (int i = 0; i < g; i++)
            {
                z[(p * g) + i] = group.Max() == group.Min() ? 0 : (group[i] - mean) / (std + eps);
            }
        }

        return z;
    }

    internal static GrpoTrainerOptions Options() => TrainerRewardFailureTests.Options();

    internal static TorchPolicy NewPolicy() => new(new TinyCausalModule(ToyTask.Vocabulary.Length, 8, seed: 6), ToyTask.Tokenizer);

    internal static PolicyPrompt[] Prompts() => [ToyTask.Prompt(0), ToyTask.Prompt(1), ToyTask.Prompt(2)];

    internal static double[] Snapshot(TorchPolicy policy)
        => policy.GetState().Values.SelectMany(t => t.to(torch.ScalarType.Float64).cpu().data<double>().ToArray()).ToArray();

    private static async IAsyncEnumerable<IReadOnlyList<PolicyPrompt>> Batches(int count)
    {
        for (int i = 0; i < count; i++)
        {
            await Task.Yield();
            yield return Prompts();
        }
    }

    /// <summary>Scores row i with score(i) synchronously (no await before the work); rows in <see cref="FailRows"/> fail; throws <see cref="ThrowWith"/> when set.</summary>
    internal sealed class RowRewardModel(Func<int, double> score) : IRewardModel
    {
        public HashSet<int> FailRows { get; } = [];

        public Exception? ThrowWith { get; set; }

        public Task<IReadOnlyList<RewardResult>> ScoreAsync(IReadOnlyList<RewardRequest> requests, CancellationToken cancellationToken = default)
        {
            if (ThrowWith is not null)
            {
                throw ThrowWith;
            }

            var results = new RewardResult[requests.Count];
            for (int i = 0; i < results.Length; i++)
            {
                double value = FailRows.Contains(i) ? double.NaN : score(i);
                results[i] = FailRows.Contains(i)
                    ? RewardResult.Failed("scripted failure", isTransient: false)
                    : RewardResult.Scored(value, new Dictionary<string, double> { ["s"] = value });
            }

            return Task.FromResult<IReadOnlyList<RewardResult>>(results);
        }

        public object? GetService(Type serviceType, object? serviceKey = null) => serviceType.IsInstanceOfType(this) ? this : null;

        public void Dispose()
        {
        }
    }
}
