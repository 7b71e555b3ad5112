using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Vepa.Core.Tests.Rewards;
using Vepa.Core.Tests.Rewards.Fakes;

namespace Vepa.Rewards.Tests.Pipeline;

public sealed class ConfigurationCircuitBreakerTests
{
    private static RewardRequest[] Requests(int count) =>
        [.. Enumerable.Range(0, count).Select(i => new RewardRequest($"Q{i}?", "red", $"evidence {i}") { Id = $"item-{i}" })];

    private static RewardResult Misconfigured() =>
        RewardResult.Failed(new RewardFailure("The chat endpoint answered HTTP 401 (Unauthorized).", false, Kind: RewardFailureKind.Configuration));

    [Fact]
    public void Defaults_are_half_a_batch_one_failure_and_thirty_seconds()
    {
        var options = new RewardCircuitBreakerOptions();

        options.FailureShare.Should().Be(0.5);
        options.MinimumFailures.Should().Be(1);
        options.BreakDuration.Should().Be(TimeSpan.FromSeconds(30));
        options.PenalizedReplyShare.Should().Be(1.0);
        options.MinimumPenalizedReplies.Should().Be(16);
        new RewardResilienceOptions().EnableConfigurationCircuitBreaker.Should().BeTrue();
    }

    [Theory]
    [InlineData(4, 10, false)] // 40 % < 50 %
    [InlineData(5, 10, true)]
    [InlineData(10, 10, true)]
    [InlineData(0, 10, false)]
    public async Task The_circuit_opens_at_the_configured_share_of_a_batch(int failing, int size, bool opens)
    {
        var inner = new FakeRewardModel((request, _) => int.Parse(request.Id!["item-".Length..], System.Globalization.CultureInfo.InvariantCulture) < failing ? Misconfigured() : FakeRewardModel.Deterministic(request));
        using IRewardModel model = inner.AsBuilder().UseConfigurationCircuitBreaker().Build();

        Func<Task> act = () => model.ScoreAsync(Requests(size));

        if (opens)
        {
            RewardConfigurationException error = (await act.Should().ThrowAsync<RewardConfigurationException>()).Which;
            error.FailedCount.Should().Be(failing);
            error.BatchSize.Should().Be(size);
            error.Message.Should().EndWith("Cause: The chat endpoint answered HTTP 401 (Unauthorized).");
        }
        else
        {
            await act.Should().NotThrowAsync();
        }
    }

    [Fact]
    public async Task Infrastructure_and_evidence_failures_never_open_it()
    {
        var inner = new FakeRewardModel((request, _) => request.Id == "item-0"
            ? RewardResult.Failed("HTTP 503", isTransient: true)
            : RewardResult.Penalized(0, new RewardFailure("malformed", false, Kind: RewardFailureKind.Evidence)));
        using IRewardModel model = inner.AsBuilder().UseConfigurationCircuitBreaker(new RewardCircuitBreakerOptions { FailureShare = 0.01 }).Build();

        IReadOnlyList<RewardResult> results = await model.ScoreAsync(Requests(4));

        results.Should().HaveCount(4);
    }

    [Fact]
    public async Task A_zero_break_duration_judges_each_batch_on_its_own()
    {
        bool broken = true;
        var inner = new FakeRewardModel((request, _) => broken ? Misconfigured() : FakeRewardModel.Deterministic(request));
        using ServiceProvider services = PipelineServices.Create(new FakeTimeProvider());
        using IRewardModel model = inner.AsBuilder().UseConfigurationCircuitBreaker(new RewardCircuitBreakerOptions { BreakDuration = TimeSpan.Zero }).Build(services);

        await FluentActions.Awaiting(() => model.ScoreAsync(Requests(2))).Should().ThrowAsync<RewardConfigurationException>();
        broken = false;
        IReadOnlyList<RewardResult> results = await model.ScoreAsync(Requests(2));

        results.Should().OnlyContain(r => r.IsScored);
    }

    [Theory]
    [InlineData(16, 16, true)]
    [InlineData(15, 16, false)]
    [InlineData(8, 8, false)] // fewer than the minimum of 16
    public async Task A_batch_whose_every_reply_failed_opens_the_circuit(int penalized, int size, bool opens)
    {
        var inner = new FakeRewardModel((request, _) => int.Parse(request.Id!["item-".Length..], System.Globalization.CultureInfo.InvariantCulture) < penalized
            ? RewardResult.Penalized(0, new RewardFailure("The blind reader failed: The reader's reply is malformed: the reply has no [[CHEAT]] or [[honest]] tag.", false, Kind: RewardFailureKind.Evidence))
            : FakeRewardModel.Deterministic(request));
        using IRewardModel model = inner.AsBuilder().UseConfigurationCircuitBreaker().Build();

        Func<Task> act = () => model.ScoreAsync(Requests(size));

        if (opens)
        {
            (await act.Should().ThrowAsync<RewardConfigurationException>()).Which.Message.Should()
                .StartWith("The reward pipeline is misconfigured: the reader's reply failed for 16 of 16 items")
                .And.EndWith("Cause: The blind reader failed: The reader's reply is malformed: the reply has no [[CHEAT]] or [[honest]] tag.");
        }
        else
        {
            await act.Should().NotThrowAsync();
        }
    }

    [Fact]
    public async Task Evidence_over_a_cap_never_opens_it()
    {
        using IRewardModel model = new SufficiencyRewardModel(new DelegateBlindReader(_ => new BlindReaderReply("red", true)), new SufficiencyRewardOptions { MaxEvidenceCharacters = 3 })
            .AsBuilder()
            .UseConfigurationCircuitBreaker()
            .Build();

        IReadOnlyList<RewardResult> results = await model.ScoreAsync(Requests(32));

        results.Should().OnlyContain(r => r.IsPenalized);
    }

    [Fact]
    public void Invalid_options_list_every_problem()
    {
        Action act = () => new FakeRewardModel().AsBuilder().UseConfigurationCircuitBreaker(
            new RewardCircuitBreakerOptions { FailureShare = 0, MinimumFailures = 0, BreakDuration = TimeSpan.FromDays(2), PenalizedReplyShare = 2, MinimumPenalizedReplies = 0 });

        act.Should().Throw<ArgumentException>().Which.Message.Should().StartWith("RewardCircuitBreakerOptions is invalid: ")
            .And.Contain("'FailureShare'").And.Contain("'MinimumFailures'").And.Contain("'BreakDuration'")
            .And.Contain("'PenalizedReplyShare'").And.Contain("'MinimumPenalizedReplies'");
    }
}

public sealed class ConfigurationCircuitBreakerContractTests : RewardModelContractTests
{
    protected override IRewardModel CreateModel() => new FakeRewardModel().AsBuilder().UseConfigurationCircuitBreaker().Build();
}
