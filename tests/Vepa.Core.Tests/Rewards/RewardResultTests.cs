namespace Vepa.Core.Tests.Rewards;

public sealed class RewardResultTests
{
    [Fact]
    public void Scored_result_carries_value_and_components()
    {
        var components = new Dictionary<string, double> { ["s"] = 1, ["h"] = 1, ["gamma"] = 0.8 };

        RewardResult result = RewardResult.Scored(0.8, components, new Dictionary<string, string> { ["answer"] = "red" });

        result.Status.Should().Be(RewardStatus.Scored);
        result.IsScored.Should().BeTrue();
        result.Value.Should().Be(0.8);
        result.Components.Should().BeEquivalentTo(components);
        result.Annotations["answer"].Should().Be("red");
        result.Failure.Should().BeNull();
    }

    [Fact]
    public void Scored_result_without_components_has_empty_dictionaries()
    {
        RewardResult result = RewardResult.Scored(-1);

        result.Components.Should().BeEmpty();
        result.Annotations.Should().BeEmpty();
    }

    [Theory]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    [InlineData(double.NegativeInfinity)]
    public void Scored_rejects_non_finite_values(double value)
    {
        Action act = () => RewardResult.Scored(value);

        act.Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be("value");
    }

    [Fact]
    public void Failed_result_is_NaN_never_zero_and_keeps_the_failure()
    {
        var cause = new TimeoutException("slow");

        RewardResult result = RewardResult.Failed("reader timed out", isTransient: true, cause);

        result.Status.Should().Be(RewardStatus.Failed);
        result.IsScored.Should().BeFalse();
        double.IsNaN(result.Value).Should().BeTrue();
        result.Value.Should().NotBe(0);
        result.Components.Should().BeEmpty();
        result.Failure.Should().Be(new RewardFailure("reader timed out", true, cause));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("  ")]
    public void Failed_needs_a_reason(string? reason)
    {
        Action act = () => RewardResult.Failed(reason!, isTransient: false);

        act.Should().Throw<ArgumentException>().Which.ParamName.Should().Be("reason");
    }

    [Fact]
    public void Failed_with_null_failure_throws()
    {
        Action act = () => RewardResult.Failed((RewardFailure)null!);

        act.Should().Throw<ArgumentNullException>().Which.ParamName.Should().Be("failure");
    }
}
