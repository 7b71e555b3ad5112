using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using TorchSharp;

namespace Vepa.Grpo.Tests.Training;

/// <summary>Reward failures are loud: a step without any usable reward never moves the policy, TrainAsync stops after N of them, and broken contracts surface.</summary>
[Collection("Sequential")]
public sealed class TrainerRewardFailureTests
{
    [Fact]
    public async Task A_step_whose_rewards_all_failed_does_not_move_the_policy_even_with_a_KL_term()
    {
        using var policy = NewPolicy();
        using var reward = new ExactAnswerRewardModel(TrainerFaultTests.Words);
        var options = Options();
        options.Loss = new PolicyLossOptions { Beta = 0.5 };
        using var trainer = new GrpoTrainer(policy, reward, options);
        await trainer.StepAsync(Prompts());   // one good step: the policy leaves the reference, so the KL term has a gradient
        var before = Snapshot(policy);
        reward.Throw = true;

        var record = await trainer.StepAsync(Prompts());

        record.AllRewardsFailed.Should().BeTrue();
        record.OptimizerSteps.Should().Be(0);
        record.FirstUpdate.Should().BeNull();
        Snapshot(policy).Should().Equal(before, "without a usable reward AdamW would turn the KL gradient alone into a full learning-rate step");
        trainer.CompletedSteps.Should().Be(2);
    }

    [Fact]
    public async Task A_step_where_some_rewards_failed_trains_on_the_rest()
    {
        using var policy = NewPolicy();
        using var reward = new ExactAnswerRewardModel(TrainerFaultTests.Words);
        reward.FailRows.UnionWith([0, 1, 2, 3, 4]);
        using var trainer = new GrpoTrainer(policy, reward, Options());
        var before = Snapshot(policy);

        var record = await trainer.StepAsync(Prompts());

        record.AllRewardsFailed.Should().BeFalse();
        record.FailedRewardCount.Should().Be(5);
        record.RewardFailureReason.Should().Be("scripted failure");
        record.RolloutRewards.Take(5).Should().OnlyContain(r => double.IsNaN(r));
        record.RolloutAdvantages.Take(5).Should().OnlyContain(a => a == 0);
        record.RolloutAdvantages.Should().Contain(a => a != 0, "the scored rows of this seed differ within their groups");
        record.OptimizerSteps.Should().Be(1);
        Snapshot(policy).Should().NotEqual(before);
    }

    [Fact]
    public async Task TrainAsync_stops_after_the_configured_number_of_steps_whose_every_update_was_skipped_on_a_non_finite_gradient()
    {
        // The log-probs stay finite, their gradient does not (0 · d sqrt(x)/dx at x = 0 is 0 · ∞ = NaN): each update is skipped,
        // which only logged a warning before; a run that can skip every update forever cannot learn.
        using var folder = new TempFolder();
        using var inner = NewPolicy();
        using var policy = new NonFiniteGradientPolicy(inner);
        using var reward = new ExactAnswerRewardModel(TrainerFaultTests.Words);
        var options = Options();
        options.MaxConsecutiveNonFiniteGradientSteps = 2;
        options.CheckpointDirectory = folder.Path;
        using var trainer = new GrpoTrainer(policy, reward, options);
        var before = Snapshot(inner);
        var records = new List<GrpoStepRecord>();

        var train = async () =>
        {
            await foreach (var record in trainer.TrainStreamAsync(Batches(10)))
            {
                records.Add(record);
            }
        };

        var error = (await train.Should().ThrowAsync<GrpoNonFiniteGradientException>()).Which;
        error.Step.Should().Be(2);
        error.ConsecutiveSteps.Should().Be(2);
        records.Should().HaveCount(2).And.OnlyContain(r => r.OptimizerSteps == 0 && r.SkippedOptimizerSteps == 1);
        Snapshot(inner).Should().Equal(before, "a skipped update changes nothing");
        Directory.GetDirectories(folder.Path, "step-*").Should().ContainSingle("a checkpoint is written before the error");
    }

    [Fact]
    public async Task A_step_that_keeps_one_scored_reward_per_group_has_no_usable_reward_and_does_not_move_the_policy()
    {
        // G = 4, three groups: every group keeps one reward, so no group has two to compare and every advantage is 0. With β > 0
        // an update would be the KL term alone, turned into a full learning-rate step by AdamW.
        using var policy = NewPolicy();
        using var reward = new ExactAnswerRewardModel(TrainerFaultTests.Words);
        var options = Options();
        options.Loss = new PolicyLossOptions { Beta = 0.5 };
        options.MaxConsecutiveFailedRewardSteps = 2;
        using var trainer = new GrpoTrainer(policy, reward, options);
        await trainer.StepAsync(Prompts());
        var before = Snapshot(policy);
        reward.FailRows.UnionWith([1, 2, 3, 5, 6, 7, 9, 10, 11]);

        var record = await trainer.StepAsync(Prompts());

        record.FailedRewardCount.Should().Be(9);
        record.AllRewardsFailed.Should().BeTrue("no group has two scored rewards");
        record.OptimizerSteps.Should().Be(0);
        Snapshot(policy).Should().Equal(before);
        var again = () => trainer.TrainAsync([Prompts()]);
        (await again.Should().ThrowAsync<GrpoRewardFailureException>()).Which.ConsecutiveSteps.Should().Be(2);
    }

    [Fact]
    public async Task TrainAsync_stops_after_the_configured_number_of_steps_in_a_row_without_a_usable_reward_and_leaves_a_checkpoint()
    {
        using var folder = new TempFolder();
        using var policy = NewPolicy();
        using var reward = new ExactAnswerRewardModel(TrainerFaultTests.Words) { Throw = true, ThrowWith = new InvalidCastException("the scorer read a null label") };
        var logs = new FakeLogCollector();
        using var loggerFactory = LoggerFactory.Create(b => b.AddProvider(new FakeLoggerProvider(logs)));
        var options = Options();
        options.MaxConsecutiveFailedRewardSteps = 2;
        options.CheckpointDirectory = folder.Path;
        using var trainer = new GrpoTrainer(policy, reward, options, loggerFactory: loggerFactory);
        var records = new List<GrpoStepRecord>();

        var train = async () =>
        {
            await foreach (var record in trainer.TrainStreamAsync(Batches(10)))
            {
                records.Add(record);
            }
        };

        var error = (await train.Should().ThrowAsync<GrpoRewardFailureException>()).Which;
        error.Step.Should().Be(2);
        error.ConsecutiveSteps.Should().Be(2);
        error.Reason.Should().Be("the reward model threw InvalidCastException: the scorer read a null label");
        error.Message.Should().Contain("the scorer read a null label");
        records.Should().HaveCount(2);
        Directory.GetDirectories(folder.Path).Select(Path.GetFileName).Should().Equal("step-00000002");
        var warning = logs.GetSnapshot().First(r => r.Level == LogLevel.Warning);
        warning.Message.Should().Contain("the scorer read a null label", "the host's own exception is logged with its message");
        warning.Exception.Should().BeOfType<InvalidCastException>();
    }

    [Fact]
    public async Task The_count_of_failed_steps_restarts_after_a_step_with_a_usable_reward()
    {
        using var policy = NewPolicy();
        using var reward = new FlakyRewardModel(failingCalls: [1, 2, 4, 5, 7, 8]);
        var options = Options();
        options.MaxConsecutiveFailedRewardSteps = 3;

        using var trainer = new GrpoTrainer(policy, reward, options);
        var records = await trainer.TrainAsync(Enumerable.Range(0, 9).Select(_ => Prompts()));

        records.Select(r => r.AllRewardsFailed).Should().Equal(true, true, false, true, true, false, true, true, false);
    }

    [Fact]
    public async Task A_reward_model_that_breaks_its_contract_stops_the_step_with_a_clear_error()
    {
        foreach (var (model, message) in new (IRewardModel, string)[]
        {
            (new BrokenRewardModel(r => null), "returned null for 12 requests"),
            (new BrokenRewardModel(r => r.Take(11).Select(_ => RewardResult.Scored(1)).ToArray()), "returned 11 results for 12 requests"),
            (new BrokenRewardModel(r => r.Select((_, i) => i == 7 ? null! : RewardResult.Scored(1)).ToArray()), "returned a null result at index 7 of 12"),
        })
        {
            using var policy = NewPolicy();
            using var trainer = new GrpoTrainer(policy, model, Options());
            var before = Snapshot(policy);

            var step = () => trainer.StepAsync(Prompts());

            (await step.Should().ThrowAsync<RewardContractException>()).Which.Message.Should().Contain("the GRPO trainer").And.Contain(message);
            trainer.CompletedSteps.Should().Be(0);
            Snapshot(policy).Should().Equal(before);
        }
    }

    [Fact]
    public async Task A_contract_violation_raised_inside_the_reward_pipeline_reaches_the_host_unchanged()
    {
        using var policy = NewPolicy();
        var inner = new RewardContractException("The reward model called by the caching stage returned 3 results for 12 requests; a reward model must return one result per request.");
        using var reward = new ExactAnswerRewardModel(TrainerFaultTests.Words) { Throw = true, ThrowWith = inner };
        using var trainer = new GrpoTrainer(policy, reward, Options());

        var step = () => trainer.StepAsync(Prompts());

        (await step.Should().ThrowAsync<RewardContractException>()).Which.Should().BeSameAs(inner);
    }

    internal static GrpoTrainerOptions Options() => new()
    {
        Sampling = new SamplingOptions { Temperature = 1.0, MaxNewTokens = 4, StopTokenIds = [0] },
        LearningRate = 0.01,
        WarmupSteps = 0,
        Loss = new PolicyLossOptions { Beta = 0 },
    };

    private static TorchPolicy NewPolicy() => new(new TinyCausalModule(ToyTask.Vocabulary.Length, 8, seed: 6), ToyTask.Tokenizer);

    private static PolicyPrompt[] Prompts() => [ToyTask.Prompt(0), ToyTask.Prompt(1), ToyTask.Prompt(2)];

    private static async IAsyncEnumerable<IReadOnlyList<PolicyPrompt>> Batches(int count)
    {
        for (int i = 0; i < count; i++)
        {
            await Task.Yield();
            yield return Prompts();
        }
    }

    private static double[] Snapshot(TorchPolicy policy)
        => policy.GetState().Values.SelectMany(t => t.to(torch.ScalarType.Float64).cpu().data<double>().ToArray()).ToArray();

    /// <summary>Throws on the listed 1-based calls; otherwise scores the word count.</summary>
    private sealed class FlakyRewardModel(int[] failingCalls) : IRewardModel
    {
        private int _calls;

        public Task<IReadOnlyList<RewardResult>> ScoreAsync(IReadOnlyList<RewardRequest> requests, CancellationToken cancellationToken = default)
            => failingCalls.Contains(++_calls)
                ? throw new TimeoutException("scripted outage")
                : Task.FromResult<IReadOnlyList<RewardResult>>(requests.Select((r, i) => RewardResult.Scored(TrainerFaultTests.Words(r) + (i % 2))).ToArray());

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }

    /// <summary>Returns whatever the function makes of the requests, breaking the one-result-per-request contract.</summary>
    private sealed class BrokenRewardModel(Func<IReadOnlyList<RewardRequest>, IReadOnlyList<RewardResult>?> results) : IRewardModel
    {
        public Task<IReadOnlyList<RewardResult>> ScoreAsync(IReadOnlyList<RewardRequest> requests, CancellationToken cancellationToken = default)
            => Task.FromResult(results(requests)!);

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }

    /// <summary>A policy whose log-probs are finite and whose log-prob gradient is NaN.</summary>
    private sealed class NonFiniteGradientPolicy(TorchPolicy inner) : IPolicy
    {
        public IRolloutSampler Sampler => inner.Sampler;

        public IReadOnlyList<TorchSharp.Modules.Parameter> TrainableParameters => inner.TrainableParameters;

        public PolicyLogProbs ComputeLogProbs(RolloutBatch rollouts, PolicyLogProbOptions options)
        {
            var result = inner.ComputeLogProbs(rollouts, options);
            var lp = result.LogProbs;
            return new PolicyLogProbs(lp + (0.0 * (lp - lp.detach()).sqrt()), result.Entropy);
        }

        public IPolicy CreateReference() => inner.CreateReference();

        public IReadOnlyDictionary<string, torch.Tensor> GetState() => inner.GetState();

        public void LoadState(IReadOnlyDictionary<string, torch.Tensor> state) => inner.LoadState(state);

        public object? GetService(Type serviceType, object? serviceKey = null) => inner.GetService(serviceType, serviceKey);

        public void Dispose()
        {
        }
    }
}
