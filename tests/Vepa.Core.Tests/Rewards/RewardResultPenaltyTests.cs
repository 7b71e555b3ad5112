namespace Vepa.Core.Tests.Rewards;

public sealed class RewardResultPenaltyTests
{
    [Fact]
    public void A_penalised_result_is_scored_with_its_cause_and_no_failure()
    {
        var cause = new RewardFailure("The reply is malformed.", IsTransient: false, Kind: RewardFailureKind.Evidence);

        RewardResult result = RewardResult.Penalized(-1, cause, new Dictionary<string, double> { ["s"] = 0 });

        result.Status.Should().Be(RewardStatus.Scored);
        result.IsScored.Should().BeTrue();
        result.IsPenalized.Should().BeTrue();
        result.Value.Should().Be(-1);
        result.Failure.Should().BeNull();
        result.PenaltyCause.Should().BeSameAs(cause);
        RewardResult.Scored(0).IsPenalized.Should().BeFalse();
    }

    [Fact]
    public void Penalized_rejects_a_null_cause_and_a_non_finite_value()
    {
        var cause = new RewardFailure("x", false, Kind: RewardFailureKind.Evidence);

        FluentActions.Invoking(() => RewardResult.Penalized(0, null!)).Should().Throw<ArgumentNullException>().Which.ParamName.Should().Be("cause");
        FluentActions.Invoking(() => RewardResult.Penalized(double.NaN, cause)).Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be("value");
    }

    [Fact]
    public void A_failure_defaults_to_the_infrastructure_kind()
    {
        new RewardFailure("HTTP 503", true).Kind.Should().Be(RewardFailureKind.Infrastructure);
        RewardResult.Failed("HTTP 503", true).Failure!.Kind.Should().Be(RewardFailureKind.Infrastructure);
    }

    [Fact]
    public void ToString_prints_the_reason_and_never_the_exception_or_annotations()
    {
        var secret = new InvalidOperationException("body: Bearer sk-SECRET");
        RewardResult failed = RewardResult.Failed(new RewardFailure("The chat endpoint answered HTTP 401 (Unauthorized).", false, secret, RewardFailureKind.Configuration));
        RewardResult scored = RewardResult.Scored(0.5, new Dictionary<string, double> { ["s"] = 1, ["gamma"] = 0.5 }, new Dictionary<string, string> { ["reader_raw_text"] = "sk-SECRET" });
        RewardResult penalized = RewardResult.Penalized(0, new RewardFailure("The evidence is too long.", false, secret, RewardFailureKind.Evidence));

        failed.ToString().Should().Be("Failed: Configuration (permanent): The chat endpoint answered HTTP 401 (Unauthorized).");
        failed.Failure!.ToString().Should().Be("Configuration (permanent): The chat endpoint answered HTTP 401 (Unauthorized).");
        scored.ToString().Should().Be("Scored 0.5 (s=1, gamma=0.5)");
        penalized.ToString().Should().Be("Penalized 0: Evidence (permanent): The evidence is too long.");
        new[] { failed.ToString(), scored.ToString(), penalized.ToString() }.Should().AllSatisfy(text => text.Should().NotContain("SECRET"));
    }
}
