using Vepa.Rewards;

namespace Vepa.Rewards.Tests.Sufficiency;

public sealed class RepetitionPenaltyTests
{
    // Hand counts: total n-grams = words − n + 1, ratio = 1 − distinct / total.
    [Theory]
    [InlineData("a b c a b c", 3, 0.25)] // abc bca cab abc: 4 total, 3 distinct
    [InlineData("the red cube", 3, 0.0)] // 1 total, 1 distinct
    [InlineData("red red red red", 1, 0.75)] // 4 total, 1 distinct
    [InlineData("red red red red", 2, 2.0 / 3.0)] // 3 total, 1 distinct
    [InlineData("red red red red", 3, 0.5)] // 2 total, 1 distinct
    [InlineData("red red red red", 4, 0.0)] // 1 total
    [InlineData("red red red red", 5, 0.0)] // fewer words than n
    [InlineData("a b a b a b a b", 2, 5.0 / 7.0)] // ab ba ab ba ab ba ab: 7 total, 2 distinct
    [InlineData("Red, red. RED!", 1, 2.0 / 3.0)] // case and punctuation ignored
    [InlineData("the red ball the red ball the red ball the red ball", 3, 0.7)] // 10 total, 3 distinct
    [InlineData("A small red ball lies on the grass next to a blue cube.", 3, 0.0)]
    [InlineData("", 3, 0.0)]
    public void Repeated_ngram_ratio_matches_hand_counts(string text, int n, double expected)
    {
        RepetitionPenalty.RepeatedNGramRatio(text, n).Should().BeApproximately(expected, 1e-12);
    }

    // γ = 1 for ratio ≤ τ, else 1 − (1 − floor)(ratio − τ)/(1 − τ).
    [Theory]
    [InlineData(0.0, 0.2, 0.5, 1.0)]
    [InlineData(0.2, 0.2, 0.5, 1.0)]
    [InlineData(0.25, 0.2, 0.5, 0.96875)] // 1 − 0.5 · 0.05 / 0.8
    [InlineData(0.6, 0.2, 0.5, 0.75)] // 1 − 0.5 · 0.4 / 0.8
    [InlineData(0.7, 0.2, 0.5, 0.6875)] // 1 − 0.5 · 0.5 / 0.8
    [InlineData(1.0, 0.2, 0.5, 0.5)]
    [InlineData(0.5, 0.0, 0.2, 0.6)] // 1 − 0.8 · 0.5
    [InlineData(0.9, 0.5, 1.0, 1.0)] // floor 1 turns the penalty off
    public void Gamma_matches_hand_computed_values(double ratio, double threshold, double floor, double expected)
    {
        RepetitionPenalty.Gamma(ratio, threshold, floor).Should().BeApproximately(expected, 1e-12);
    }

    [Fact]
    public void Gamma_is_monotone_non_increasing_and_stays_within_floor_and_one()
    {
        double previous = 1.0;
        for (int i = 0; i <= 100; i++)
        {
            double gamma = RepetitionPenalty.Gamma(i / 100.0, 0.2, 0.5);
            gamma.Should().BeLessThanOrEqualTo(previous).And.BeInRange(0.5, 1.0);
            previous = gamma;
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(17)]
    public void Ngram_size_outside_range_throws(int n)
    {
        Action act = () => RepetitionPenalty.RepeatedNGramRatio("a b c", n);

        act.Should().Throw<ArgumentOutOfRangeException>()
            .WithMessage($"The n-gram size must be in [1, 16]; got {n}.*")
            .Which.ParamName.Should().Be("nGramSize");
    }

    [Fact]
    public void Null_text_throws()
    {
        Action act = () => RepetitionPenalty.RepeatedNGramRatio(null!, 3);

        act.Should().Throw<ArgumentNullException>().Which.ParamName.Should().Be("text");
    }

    [Theory]
    [InlineData(-0.1, 0.2, 0.5, "ratio", "The repeated n-gram ratio must be in [0, 1]; got -0.1.")]
    [InlineData(double.NaN, 0.2, 0.5, "ratio", "The repeated n-gram ratio must be in [0, 1]; got NaN.")]
    [InlineData(0.5, 1.0, 0.5, "threshold", "The repetition threshold must be in [0, 1); got 1.")]
    [InlineData(0.5, -0.5, 0.5, "threshold", "The repetition threshold must be in [0, 1); got -0.5.")]
    [InlineData(0.5, 0.2, 0.0, "floor", "The repetition floor must be in (0, 1]; got 0.")]
    [InlineData(0.5, 0.2, 1.5, "floor", "The repetition floor must be in (0, 1]; got 1.5.")]
    public void Gamma_arguments_outside_range_throw(double ratio, double threshold, double floor, string param, string message)
    {
        Action act = () => RepetitionPenalty.Gamma(ratio, threshold, floor);

        act.Should().Throw<ArgumentOutOfRangeException>().WithMessage(message + "*").Which.ParamName.Should().Be(param);
    }
}
