using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using TorchSharp;

namespace Vepa.Grpo.Tests.Training;

[Collection("Sequential")]
public sealed class TrainerFaultTests
{
    [Fact]
    public async Task A_reward_model_that_throws_fails_every_rollout_and_the_step_completes()
    {
        using var policy = NewPolicy();
        using var reward = new ExactAnswerRewardModel(Words) { Throw = true };
        var logs = new FakeLogCollector();
        using var loggerFactory = LoggerFactory.Create(b => b.AddProvider(new FakeLoggerProvider(logs)));
        using var trainer = new GrpoTrainer(policy, reward, Options(), loggerFactory: loggerFactory);
        var before = Snapshot(policy);

        var record = await trainer.StepAsync(Prompts());

        record.FailedRewardCount.Should().Be(12);
        record.AllRewardsFailed.Should().BeTrue();
        record.RewardFailureReason.Should().Be("the reward model threw HttpRequestException");
        record.RewardMean.Should().Be(double.NaN);
        record.ZeroSignalGroupFraction.Should().Be(1.0);
        record.RolloutAdvantages.Should().HaveCount(12).And.OnlyContain(a => a == 0);
        record.OptimizerSteps.Should().Be(0, "a step without a usable reward does not update");
        record.Loss.Should().Be(double.NaN);
        trainer.CompletedSteps.Should().Be(1);
        Snapshot(policy).Should().Equal(before);
        var warnings = logs.GetSnapshot().Where(r => r.Level == LogLevel.Warning).ToArray();
        warnings.Should().HaveCount(2, "the failed batch and the step without a usable reward");
        warnings[1].Message.Should().Contain("no usable reward").And.Contain("1 of at most 3");
        var warning = warnings[0];
        warning.Message.Should().Contain(nameof(HttpRequestException));
        warning.Exception.Should().BeNull("an HTTP client's exception message may quote echoed credentials");
        logs.GetSnapshot().Should().NotContain(r => r.Message.Contains("sk-secret-123", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_misconfigured_reward_pipeline_stops_training_instead_of_scoring_the_batch_as_failed()
    {
        using var policy = NewPolicy();
        var cause = new RewardFailure("HTTP 401 Unauthorized", IsTransient: false, Kind: RewardFailureKind.Configuration);
        using var reward = new ExactAnswerRewardModel(Words)
        {
            Throw = true,
            ThrowWith = new RewardConfigurationException("12 of 12 reward calls failed: HTTP 401 Unauthorized", cause, 12, 12),
        };
        using var trainer = new GrpoTrainer(policy, reward, Options());
        var before = Snapshot(policy);

        var step = () => trainer.StepAsync(Prompts());

        (await step.Should().ThrowAsync<RewardConfigurationException>()).Which.Cause!.Kind.Should().Be(RewardFailureKind.Configuration);
        trainer.CompletedSteps.Should().Be(0);
        Snapshot(policy).Should().Equal(before);
    }

    [Fact]
    public async Task A_reward_model_that_times_out_fails_every_rollout_and_the_step_completes()
    {
        using var policy = NewPolicy();
        using var reward = new ExactAnswerRewardModel(Words) { Delay = TimeSpan.FromSeconds(30) };
        var options = Options();
        options.RewardTimeout = TimeSpan.FromMilliseconds(50);
        using var trainer = new GrpoTrainer(policy, reward, options);

        var record = await trainer.StepAsync(Prompts());

        record.FailedRewardCount.Should().Be(12);
        record.Timings.Reward.Should().BeLessThan(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Failed_rollouts_are_excluded_exactly_and_counted()
    {
        using var policy = NewPolicy();
        using var reward = new ExactAnswerRewardModel(Words);
        reward.FailRows.UnionWith([1, 4, 5, 6]);   // group 0 loses one rollout, group 1 three (fewer than 2 left: no signal)
        using var trainer = new GrpoTrainer(policy, reward, Options());
        using var probe = await policy.Sampler.SampleAsync(Prompts(), 4, SamplingFor(trainer, step: 1));
        double[] words = probe.Texts.Select(t => (double)Words(new RewardRequest("q", "a", t))).ToArray();

        var record = await trainer.StepAsync(Prompts());

        record.FailedRewardCount.Should().Be(4);
        var scored = words.Where((_, row) => !reward.FailRows.Contains(row)).ToArray();
        record.RewardMean.Should().BeApproximately(scored.Average(), 1e-12, "the mean is over the scored rollouts only");
        double mean = scored.Average();
        record.RewardStd.Should().BeApproximately(Math.Sqrt(scored.Sum(w => (w - mean) * (w - mean)) / (scored.Length - 1)), 1e-12);
        int zeroSignal = Enumerable.Range(0, 3).Count(p =>
        {
            var kept = Enumerable.Range(p * 4, 4).Where(r => !reward.FailRows.Contains(r)).Select(r => words[r]).ToArray();
            return kept.Length < 2 || kept.Distinct().Count() == 1;
        });
        zeroSignal.Should().BeGreaterThanOrEqualTo(1, "group 1 keeps a single scored rollout");
        record.ZeroSignalGroupFraction.Should().Be(zeroSignal / 3.0);
    }

    [Fact]
    public async Task Penalised_rollouts_are_trained_on_with_their_penalty_and_counted_apart_from_failures()
    {
        using var policy = NewPolicy();
        using var reward = new ExactAnswerRewardModel(Words);
        reward.FailRows.Add(0);
        reward.PenalizeRows.UnionWith([1, 5]);
        using var trainer = new GrpoTrainer(policy, reward, Options());
        using var probe = await policy.Sampler.SampleAsync(Prompts(), 4, SamplingFor(trainer, step: 1));
        double[] values = probe.Texts.Select((t, row) => reward.PenalizeRows.Contains(row) ? 0.0 : Words(new RewardRequest("q", "a", t))).ToArray();

        var record = await trainer.StepAsync(Prompts());

        record.FailedRewardCount.Should().Be(1);
        record.PenalizedRewardCount.Should().Be(2);
        var scored = values.Where((_, row) => row != 0).ToArray();
        record.RewardMean.Should().BeApproximately(scored.Average(), 1e-12, "a penalty is a score: it stays in the statistics");
    }

    [Fact]
    public async Task Cancellation_during_a_step_leaves_a_loadable_checkpoint_and_no_half_written_files()
    {
        using var folder = new TempFolder();
        using var policy = NewPolicy();
        using var cts = new CancellationTokenSource();
        using var reward = new CancellingRewardModel(cts, cancelOnCall: 3);
        var options = Options();
        options.CheckpointDirectory = folder.Path;
        using var trainer = new GrpoTrainer(policy, reward, options);

        var train = () => trainer.TrainAsync(Enumerable.Range(0, 10).Select(_ => Prompts()), cancellationToken: cts.Token);

        await train.Should().ThrowAsync<OperationCanceledException>();
        trainer.CompletedSteps.Should().Be(2);
        Directory.GetDirectories(folder.Path).Select(Path.GetFileName).Should().Equal(["step-00000002"], "the checkpoint is written on cancellation, of the last completed step");
        Directory.GetFiles(folder.Path, "*", SearchOption.AllDirectories).Should().NotContain(f => f.Contains(".tmp-", StringComparison.Ordinal));

        using var fresh = NewPolicy();
        using var resumed = new GrpoTrainer(fresh, new ExactAnswerRewardModel(Words), Options());
        await resumed.ResumeAsync(folder.Path);
        resumed.CompletedSteps.Should().Be(2);
        Snapshot(fresh).Should().Equal(Snapshot(policy));
    }

    internal static double Words(RewardRequest request) => request.Evidence.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length;

    private static SamplingOptions SamplingFor(GrpoTrainer trainer, int step)
    {
        var sampling = trainer.Options.Sampling.Clone();
        sampling.Seed = StepSeeds.Derive(trainer.Options.Seed, step, StepSeeds.Sampling, 0);
        return sampling;
    }

    private static TorchPolicy NewPolicy() => new(new TinyCausalModule(ToyTask.Vocabulary.Length, 8, seed: 6), ToyTask.Tokenizer);

    private static PolicyPrompt[] Prompts() => [ToyTask.Prompt(0), ToyTask.Prompt(1), ToyTask.Prompt(2)];

    private static GrpoTrainerOptions Options() => new()
    {
        Sampling = new SamplingOptions { Temperature = 1.0, MaxNewTokens = 4, StopTokenIds = [0] },
        LearningRate = 0.01,
        WarmupSteps = 0,
        Loss = new PolicyLossOptions { Beta = 0 },
    };

    private static double[] Snapshot(TorchPolicy policy)
        => policy.GetState().Values.SelectMany(t => t.to(torch.ScalarType.Float64).cpu().data<double>().ToArray()).ToArray();

    /// <summary>Scores like <see cref="ExactAnswerRewardModel"/> with word counts, and cancels the training token during its n-th call.</summary>
    private sealed class CancellingRewardModel(CancellationTokenSource cts, int cancelOnCall) : IRewardModel
    {
        private int _calls;

        public async Task<IReadOnlyList<RewardResult>> ScoreAsync(IReadOnlyList<RewardRequest> requests, CancellationToken cancellationToken = default)
        {
            if (++_calls == cancelOnCall)
            {
                await cts.CancelAsync();
                cancellationToken.ThrowIfCancellationRequested();
            }

            return requests.Select(r => RewardResult.Scored(Words(r))).ToArray();
        }

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }
}
