using TorchSharp;
using static TorchSharp.torch;

namespace Vepa.Grpo.Tests.Training;

[Collection("Sequential")]
public sealed class TrainerKnobTests
{
    [Fact]
    public async Task The_learning_rate_warms_up_linearly_then_follows_a_cosine_to_the_floor()
    {
        using var policy = NewPolicy();
        using var trainer = new GrpoTrainer(policy, new ExactAnswerRewardModel(TrainerFaultTests.Words), new GrpoTrainerOptions
        {
            Sampling = ToyTask.Sampling(2),
            LearningRate = 0.1,
            WarmupSteps = 2,
            MaxSteps = 6,
            Schedule = LearningRateSchedule.Cosine,
            MinLearningRateRatio = 0.1,
        });

        var rates = new List<double>();
        for (int i = 0; i < 7; i++)
        {
            rates.Add((await trainer.StepAsync([ToyTask.Prompt(0)])).LearningRate);
        }

        // Hand-computed: 0.1·s/2 for s ≤ 2; then 0.1·(0.1 + 0.9·½(1 + cos(π·(s − 2)/4))); held after MaxSteps.
        double[] expected = [0.05, 0.1, 0.1 * (0.1 + (0.45 * (1 + Math.Cos(Math.PI / 4)))), 0.1 * (0.1 + 0.45), 0.1 * (0.1 + (0.45 * (1 + Math.Cos(3 * Math.PI / 4)))), 0.01, 0.01];
        rates.Should().Equal(expected, (a, b) => Math.Abs(a - b) < 1e-12);
    }

    [Fact]
    public async Task Sampler_correction_with_the_policys_own_sampler_changes_nothing()
    {
        // TorchPolicy's sampler reports the log-probs of the distribution it sampled from; with the same temperature and no
        // top-k/top-p they equal the policy's, so w = exp(old − sampler) = 1 and the step is the uncorrected one.
        var plain = await StepAndReadAsync(o => { });
        var corrected = await StepAndReadAsync(o => o.Loss.SamplerCorrection = SamplerCorrectionMode.Truncate);

        plain.Zip(corrected, (a, b) => Math.Abs(a - b)).Max().Should().BeLessThan(1e-9);
    }

    [Fact]
    public async Task Masking_truncated_completions_leaves_nothing_to_learn_when_every_completion_is_truncated()
    {
        var before = await StepAndReadAsync(o => o.MaxSteps = 1, steps: 0);

        var masked = await StepAndReadAsync(o =>
        {
            o.Sampling = new SamplingOptions { Temperature = 1.0, MaxNewTokens = 2 };   // no stop token: every completion is truncated
            o.MaskTruncatedCompletions = true;
        });
        var unmasked = await StepAndReadAsync(o => o.Sampling = new SamplingOptions { Temperature = 1.0, MaxNewTokens = 2 });

        masked.Should().Equal(before);
        unmasked.Should().NotEqual(before);
    }

    [Fact]
    public async Task Resampling_replaces_zero_signal_groups_until_they_carry_signal()
    {
        using var policy = NewPolicy();
        using var reward = new ScriptedCallsRewardModel();
        using var trainer = new GrpoTrainer(policy, reward, new GrpoTrainerOptions
        {
            Sampling = ToyTask.Sampling(3),
            ZeroSignalGroups = ZeroSignalGroupHandling.Resample,
            MaxResampleRounds = 2,
        });

        var record = await trainer.StepAsync([ToyTask.Prompt(0), ToyTask.Prompt(1)]);

        reward.Calls.Should().Be(2, "the first scoring gives every group equal rewards, the resampled groups then carry signal");
        record.ResampledGroupCount.Should().Be(2);
        record.ZeroSignalGroupFraction.Should().Be(0);
        record.DroppedGroupCount.Should().Be(0);
    }

    [Fact]
    public async Task A_reference_sync_moves_the_reference_to_alpha_times_the_policy_plus_the_rest_of_the_old_reference()
    {
        using var policy = NewPolicy();
        using var trainer = new GrpoTrainer(policy, new ExactAnswerRewardModel(TrainerFaultTests.Words), new GrpoTrainerOptions
        {
            Sampling = ToyTask.Sampling(3),
            LearningRate = 0.05,
            ReferenceSyncSteps = 2,
            ReferenceSyncMixAlpha = 0.25,
        });
        await trainer.StepAsync([ToyTask.Prompt(0), ToyTask.Prompt(1)]);
        var oldReference = Read(trainer.Reference!);

        await trainer.StepAsync([ToyTask.Prompt(2), ToyTask.Prompt(3)]);

        var theta = Read(policy);
        var expected = theta.Zip(oldReference, (t, r) => (0.25 * t) + (0.75 * r)).ToArray();
        Read(trainer.Reference!).Zip(expected, (a, b) => Math.Abs(a - b)).Max().Should().BeLessThan(1e-6);
        oldReference.Zip(theta, (a, b) => Math.Abs(a - b)).Max().Should().BeGreaterThan(1e-3, "the policy moved away from the reference");
    }

    [Theory]
    [InlineData(LossAggregation.SequenceMeanTokenMean)]
    [InlineData(LossAggregation.TokenMean)]
    [InlineData(LossAggregation.ConstantNormalizer)]
    [InlineData(LossAggregation.TokenSum)]
    public async Task Micro_batches_accumulate_the_gradient_of_the_whole_minibatch_under_every_aggregation(LossAggregation aggregation)
    {
        // Adam's ε = 1 makes the update scale with the gradient (near SGD), and no clipping: a wrongly weighted micro-batch shows.
        void Configure(GrpoTrainerOptions o, int? micro)
        {
            // The entropy bonus is aggregated like the policy term, so it splits over micro-batches the same way.
            o.Loss = new PolicyLossOptions { Beta = 0, Aggregation = aggregation, MaxCompletionLength = aggregation == LossAggregation.ConstantNormalizer ? 3 : null, EntropyCoefficient = 0.05 };
            o.AdamEpsilon = 1.0;
            o.MaxGradNorm = null;
            o.ShuffleMiniBatches = false;
            o.MicroBatchSize = micro;
        }

        var whole = await StepAndReadAsync(o => Configure(o, null));
        var micro = await StepAndReadAsync(o => Configure(o, 2));

        whole.Zip(micro, (a, b) => Math.Abs(a - b)).Max().Should().BeLessThan(1e-12);
    }

    private static TorchPolicy NewPolicy() => new(new TinyCausalModule(ToyTask.Vocabulary.Length, 8, seed: 21), ToyTask.Tokenizer);

    private static double[] Read(IPolicy policy)
        => policy.GetState().Values.SelectMany(t => t.to(ScalarType.Float64).cpu().data<double>().ToArray()).ToArray();

    private static async Task<double[]> StepAndReadAsync(Action<GrpoTrainerOptions> configure, int steps = 2)
    {
        var module = new TinyCausalModule(ToyTask.Vocabulary.Length, 8, seed: 22);
        module.to(ScalarType.Float64);
        using var policy = new TorchPolicy(module, ToyTask.Tokenizer);
        var options = new GrpoTrainerOptions { Sampling = ToyTask.Sampling(3), LearningRate = 0.05, Iterations = 2, Loss = new PolicyLossOptions { Beta = 0 } };
        configure(options);
        using var trainer = new GrpoTrainer(policy, new ExactAnswerRewardModel(r => r.Evidence.Length), options);
        for (int i = 0; i < steps; i++)
        {
            await trainer.StepAsync([ToyTask.Prompt(i % 4), ToyTask.Prompt((i + 1) % 4)]);
        }

        return Read(policy);
    }

    /// <summary>First call: every reward 1 (no signal anywhere); later calls: the row index within the call (signal everywhere).</summary>
    private sealed class ScriptedCallsRewardModel : IRewardModel
    {
        public int Calls { get; private set; }

        public Task<IReadOnlyList<RewardResult>> ScoreAsync(IReadOnlyList<RewardRequest> requests, CancellationToken cancellationToken = default)
        {
            Calls++;
            return Task.FromResult<IReadOnlyList<RewardResult>>(requests.Select((_, i) => RewardResult.Scored(Calls == 1 ? 1.0 : i)).ToArray());
        }

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }
}
