using TorchSharp;
using static TorchSharp.torch;

namespace Vepa.Grpo.Tests.Training;

public sealed class TrainerValidationTests
{
    [Fact]
    public void The_defaults_follow_the_paper()
    {
        var options = new GrpoTrainerOptions();

        options.GroupSize.Should().Be(4);
        options.Sampling.Temperature.Should().Be(0.9);
        options.Loss.Beta.Should().Be(0.01);
        options.Loss.KlEstimator.Should().Be(KlEstimator.K3);
        options.Loss.EpsilonLow.Should().Be(0.2);
        options.Loss.EpsilonHigh.Should().Be(0.2);
        options.Loss.Aggregation.Should().Be(LossAggregation.SequenceMeanTokenMean);
        options.LearningRate.Should().Be(1e-6);
        options.Schedule.Should().Be(LearningRateSchedule.Constant);
        options.WarmupRatio.Should().Be(0.05);
        options.Iterations.Should().Be(1);
        options.Invoking(o => o.Validate()).Should().NotThrow();
    }

    [Fact]
    public void Every_problem_is_listed_in_one_exception()
    {
        var options = new GrpoTrainerOptions
        {
            GroupSize = 1,
            LearningRate = 0,
            Iterations = 0,
            MiniBatchSize = 6,
            MicroBatchSize = 4,
            Sampling = new SamplingOptions { MaxNewTokens = 0, Temperature = 0.9 },
            Loss = new PolicyLossOptions { EpsilonLow = 1.5 },
            CheckpointEverySteps = 10,
        };

        var error = options.Invoking(o => o.Validate()).Should().Throw<ArgumentException>().Which;

        error.ParamName.Should().Be("options");
        error.Message.Should().Contain("GroupSize must be in [2, 4096]; got 1.")
            .And.Contain("LearningRate must be finite and > 0; got 0.")
            .And.Contain("Iterations must be in [1, 64]; got 0.")
            .And.Contain("MicroBatchSize must divide MiniBatchSize; got MicroBatchSize = 4, MiniBatchSize = 6.")
            .And.Contain("Sampling.MaxNewTokens must be >= 1; got 0.")
            .And.Contain("Loss.EpsilonLow must be in [0, 1); got 1.5.")
            .And.Contain("CheckpointEverySteps needs CheckpointDirectory.");
    }

    [Fact]
    public void Greedy_sampling_cannot_be_trained()
    {
        var options = new GrpoTrainerOptions { Sampling = new SamplingOptions { Temperature = 0 } };

        options.Invoking(o => o.Validate()).Should().Throw<ArgumentException>()
            .WithMessage("*Sampling.Temperature must be > 0 for training*");
    }

    [Fact]
    public void The_trainer_validates_its_options()
    {
        using var policy = NewPolicy();
        var create = () => new GrpoTrainer(policy, new ExactAnswerRewardModel(), new GrpoTrainerOptions { LearningRate = -1 });

        create.Should().Throw<ArgumentException>().WithMessage("Invalid GrpoTrainerOptions: LearningRate must be finite and > 0; got -1.*");
    }

    [Fact]
    public async Task A_minibatch_larger_than_the_batch_is_an_error_naming_both_sizes()
    {
        using var policy = NewPolicy();
        using var trainer = new GrpoTrainer(policy, new ExactAnswerRewardModel(), new GrpoTrainerOptions { MiniBatchSize = 16, Sampling = ToyTask.Sampling() });

        var step = () => trainer.StepAsync([ToyTask.Prompt(0), ToyTask.Prompt(1)]);

        (await step.Should().ThrowAsync<ArgumentException>())
            .WithMessage("MiniBatchSize (16) is larger than the batch: 2 prompts × G = 4 = 8 rows.*");
    }

    [Fact]
    public async Task A_sampler_whose_batch_is_not_prompts_times_G_is_an_error()
    {
        using var policy = NewPolicy();
        var sampler = new FixedSampler(policy, groupSize: 3);
        using var trainer = new GrpoTrainer(policy, new ExactAnswerRewardModel(), new GrpoTrainerOptions { Sampling = ToyTask.Sampling() }, sampler);

        var step = () => trainer.StepAsync([ToyTask.Prompt(0), ToyTask.Prompt(1)]);

        (await step.Should().ThrowAsync<InvalidOperationException>())
            .WithMessage("The sampler returned 6 rollouts with G = 3; expected prompts × G = 2 × 4 = 8.");
    }

    [Fact]
    public async Task A_policy_returning_log_probs_of_the_wrong_shape_is_an_error()
    {
        using var inner = NewPolicy();
        using var policy = new WrongShapePolicy(inner);
        using var trainer = new GrpoTrainer(policy, new ExactAnswerRewardModel(), new GrpoTrainerOptions { Sampling = ToyTask.Sampling(), Loss = new PolicyLossOptions { Beta = 0 } });

        var step = () => trainer.StepAsync([ToyTask.Prompt(0), ToyTask.Prompt(1)]);

        (await step.Should().ThrowAsync<InvalidOperationException>())
            .WithMessage("The policy returned the policy's log-probs shaped [8, 2]; expected [rows = 8, T = 3]*");
    }

    [Fact]
    public void A_rollout_batch_whose_mask_does_not_match_its_ids_is_rejected()
    {
        using var scope = NewDisposeScope();
        var create = () => new RolloutBatch(
            [ToyTask.Prompt(0)], 2, zeros(2, 3, dtype: ScalarType.Int64), zeros(2, 4, dtype: ScalarType.Bool), [false, false], ["a", "b"]);

        create.Should().Throw<ArgumentException>().WithMessage("completionMask must have the shape of completionIds [2, 3]; got [2, 4].*")
            .Which.ParamName.Should().Be("completionMask");
    }

    [Fact]
    public void A_rollout_batch_whose_rows_are_not_prompts_times_G_is_rejected()
    {
        using var scope = NewDisposeScope();
        var create = () => new RolloutBatch(
            [ToyTask.Prompt(0), ToyTask.Prompt(1)], 2, zeros(3, 2, dtype: ScalarType.Int64), zeros(3, 2, dtype: ScalarType.Bool), [false, false, false], ["a", "b", "c"]);

        create.Should().Throw<ArgumentException>().WithMessage("completionIds must be [B, T] with B = prompts × G = 2 × 2 = 4; got [3, 2].*");
    }

    [Fact]
    public async Task Zero_max_new_tokens_is_an_error_from_the_sampler()
    {
        using var policy = NewPolicy();

        var sample = () => policy.Sampler.SampleAsync([ToyTask.Prompt(0)], 2, new SamplingOptions { MaxNewTokens = 0 });

        (await sample.Should().ThrowAsync<ArgumentException>()).WithMessage("Invalid SamplingOptions: MaxNewTokens must be >= 1; got 0.*");
    }

    private static TorchPolicy NewPolicy() => new(new TinyCausalModule(ToyTask.Vocabulary.Length, 8, seed: 1), ToyTask.Tokenizer);

    /// <summary>A sampler that samples with a G of its own, ignoring the trainer's.</summary>
    private sealed class FixedSampler(TorchPolicy policy, int groupSize) : IRolloutSampler
    {
        public Task<RolloutBatch> SampleAsync(IReadOnlyList<PolicyPrompt> prompts, int g, SamplingOptions options, CancellationToken cancellationToken = default)
            => policy.Sampler.SampleAsync(prompts, groupSize, options, cancellationToken);

        public object? GetService(Type serviceType, object? serviceKey = null) => null;
    }

    /// <summary>A policy whose log-probs drop the last completion position.</summary>
    private sealed class WrongShapePolicy(TorchPolicy inner) : IPolicy
    {
        public IRolloutSampler Sampler => inner.Sampler;

        public IReadOnlyList<TorchSharp.Modules.Parameter> TrainableParameters => inner.TrainableParameters;

        public PolicyLogProbs ComputeLogProbs(RolloutBatch rollouts, PolicyLogProbOptions options)
        {
            var full = inner.ComputeLogProbs(rollouts, options);
            return new PolicyLogProbs(full.LogProbs.narrow(1, 0, full.LogProbs.shape[1] - 1));
        }

        public IPolicy CreateReference() => inner.CreateReference();

        public IReadOnlyDictionary<string, Tensor> GetState() => inner.GetState();

        public void LoadState(IReadOnlyDictionary<string, Tensor> state) => inner.LoadState(state);

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }
}
