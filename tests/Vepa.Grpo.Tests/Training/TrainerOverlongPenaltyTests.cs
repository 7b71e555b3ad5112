namespace Vepa.Grpo.Tests.Training;

/// <summary>DAPO's soft overlong punishment: the table by hand, and the trainer's "overlong" component from the batch's lengths.</summary>
[Collection("Sequential")]
public sealed class TrainerOverlongPenaltyTests
{
    [Theory]
    // L_max = 10, L_cache = 4: no penalty up to 6 tokens, then −1/4 per token down to −factor at 10 and for a truncated completion.
    [InlineData(1, false, 1.0, 0.0)]
    [InlineData(6, false, 1.0, 0.0)]
    [InlineData(7, false, 1.0, -0.25)]
    [InlineData(8, false, 1.0, -0.5)]
    [InlineData(9, false, 1.0, -0.75)]
    [InlineData(10, false, 1.0, -1.0)]
    [InlineData(10, true, 1.0, -1.0)]
    [InlineData(7, false, 0.5, -0.125)]
    [InlineData(10, true, 0.5, -0.5)]
    [InlineData(3, true, 2.0, -2.0)]   // a truncated completion counts as L_max tokens, whatever its mask says
    [InlineData(12, false, 1.0, -1.0)] // longer than L_max (a sampler past its limit) is capped at −factor
    public void The_penalty_follows_the_DAPO_table(int length, bool truncated, double factor, double expected)
        => OverlongPenalty.Of(length, truncated, maxLength: 10, buffer: 4, factor).Should().Be(expected);

    [Fact]
    public void A_buffer_as_long_as_the_limit_penalises_from_the_first_token()
        => Enumerable.Range(0, 5).Select(l => OverlongPenalty.Of(l, false, maxLength: 4, buffer: 4, factor: 1.0)).Should().Equal(0, -0.25, -0.5, -0.75, -1.0);

    [Fact]
    public async Task The_trainer_adds_the_penalty_of_each_completion_as_the_overlong_component()
    {
        using var policy = TrainerRewardCompositionTests.NewPolicy();
        using var reward = new TrainerRewardCompositionTests.RowRewardModel(i => i % 2);
        var sampler = new RecordingSampler(policy.Sampler);
        var options = TrainerRewardCompositionTests.Options();
        options.Sampling.MaxNewTokens = 4;
        options.OverlongBufferLength = 3;
        options.OverlongPenaltyFactor = 0.6;
        options.LogCompletions = 12;
        using var trainer = new GrpoTrainer(policy, reward, options, sampler);

        var record = await trainer.StepAsync(TrainerRewardCompositionTests.Prompts());

        // By hand: L_max − L_cache = 1; length ℓ ≤ 4 gives (1 − ℓ)/3 × 0.6, a truncated completion −0.6.
        double[] penalty = sampler.Lengths.Zip(sampler.Truncated, (l, t) => t ? -0.6 : l <= 1 ? 0.0 : (1 - l) / 3.0 * 0.6).ToArray();
        penalty.Should().Contain(p => p < 0, "the toy policy writes completions longer than one token");
        record.Completions.Select(c => c.ComponentRewards["overlong"]).Should().Equal(penalty, (a, b) => Math.Abs(a - b) < 1e-15);
        record.RolloutRewards.Should().Equal(penalty.Select((p, i) => (i % 2) + p), (a, b) => Math.Abs(a - b) < 1e-15);
        record.ComponentRewardMeans["overlong"].Should().BeApproximately(penalty.Average(), 1e-15);
        record.ComponentRewardMeans["reward"].Should().Be(0.5);
        record.RolloutAdvantages.Should().Equal(TrainerRewardCompositionTests.GroupZ([.. record.RolloutRewards], 4, 1e-4), (a, b) => Math.Abs(a - b) < 1e-12);
    }

    [Fact]
    public void A_buffer_longer_than_the_sampling_limit_is_rejected()
    {
        var options = TrainerRewardCompositionTests.Options();
        options.OverlongBufferLength = 5;
        options.OverlongPenaltyFactor = 0;

        FluentActions.Invoking(options.Validate).Should().Throw<ArgumentException>()
            .WithMessage("*OverlongBufferLength (5) must be <= Sampling.MaxNewTokens (4)*")
            .WithMessage("*OverlongPenaltyFactor must be finite and > 0*");
    }

    /// <summary>Delegates to a sampler and keeps each row's completion length and truncation flag.</summary>
    private sealed class RecordingSampler(IRolloutSampler inner) : IRolloutSampler
    {
        public int[] Lengths { get; private set; } = [];

        public bool[] Truncated { get; private set; } = [];

        public async Task<RolloutBatch> SampleAsync(IReadOnlyList<PolicyPrompt> prompts, int groupSize, SamplingOptions options, CancellationToken cancellationToken = default)
        {
            var batch = await inner.SampleAsync(prompts, groupSize, options, cancellationToken);
            Lengths = [.. batch.CompletionLengths];
            Truncated = [.. batch.Truncated];
            return batch;
        }

        public object? GetService(Type serviceType, object? serviceKey = null) => inner.GetService(serviceType, serviceKey);
    }
}
