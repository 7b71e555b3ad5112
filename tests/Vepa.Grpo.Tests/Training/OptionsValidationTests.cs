namespace Vepa.Grpo.Tests.Training;

/// <summary>
/// Every options type is validated one way (<see cref="OptionsValidation"/>): range attributes, defined enum values, the
/// type's cross-field rules and the nested options, all problems in one exception, each naming the option's path.
/// </summary>
public sealed class OptionsValidationTests
{
    [Fact]
    public void One_exception_lists_the_problems_of_every_level_with_their_paths()
    {
        var options = new GrpoTrainerOptions
        {
            AdamBeta1 = 1.0,
            SchedulePer = (LearningRateScheduleUnit)9,
            Sampling = new SamplingOptions { Temperature = 0.9, TopP = 0, StopTokenIds = [2, -1], PadTokenId = -3 },
            Advantages = new AdvantageOptions { Epsilon = double.NaN, GroupSize = 8 },
            Loss = new PolicyLossOptions { EpsilonHigh = double.PositiveInfinity, DualClip = 1.0, Objective = (PolicyObjective)7 },
        };

        IReadOnlyList<string> problems = OptionsValidation.Problems(options);

        problems.Should().Equal(
            "AdamBeta1 must be in [0, 1); got 1.",
            "SchedulePer has an undefined value (9).",
            "Advantages.GroupSize (8) must equal GroupSize (4) when set.",
            "Sampling.TopP must be in (0, 1]; got 0.",
            "Sampling.PadTokenId must be >= 0; got -3.",
            "Sampling.StopTokenIds must be >= 0; got [2, -1].",
            "Advantages.Epsilon must be finite and >= 0; got NaN.",
            "Loss.EpsilonHigh must be finite and >= 0; got Infinity.",
            "Loss.DualClip must be > 1; got 1.",
            "Loss.Objective has an undefined value (7).");
        options.Invoking(o => o.Validate()).Should().Throw<ArgumentException>()
            .WithMessage("Invalid GrpoTrainerOptions: AdamBeta1 must be in [0, 1); got 1. SchedulePer has an undefined value (9).*Loss.Objective has an undefined value (7).*")
            .Which.ParamName.Should().Be("options");
    }

    [Theory]
    [InlineData(0.0, false)]
    [InlineData(1e-300, true)]
    [InlineData(double.MaxValue, true)]
    [InlineData(double.PositiveInfinity, false)]
    [InlineData(double.NaN, false)]
    [InlineData(-1.0, false)]
    public void A_finite_positive_range_rejects_zero_infinity_and_NaN(double learningRate, bool valid)
    {
        var options = new GrpoTrainerOptions { LearningRate = learningRate };

        IReadOnlyList<string> problems = OptionsValidation.Problems(options);

        if (valid)
        {
            problems.Should().BeEmpty();
        }
        else
        {
            problems.Should().ContainSingle().Which.Should().StartWith("LearningRate must be finite and > 0; got ");
        }
    }

    [Fact]
    public void A_missing_nested_options_object_is_named_once_and_not_descended_into()
    {
        var options = new GrpoTrainerOptions { Loss = null!, Sampling = null! };

        OptionsValidation.Problems(options).Should().Equal(
            "Sampling must not be null; got null.",
            "Loss must not be null; got null.");
    }

    [Fact]
    public void A_standalone_options_object_is_validated_without_a_path_prefix()
    {
        var loss = new PolicyLossOptions { EpsilonLow = -0.1, KlValueClamp = 0, SamplerCorrection = SamplerCorrectionMode.Truncate, SamplerCorrectionMax = 0 };

        loss.Invoking(l => l.Validate()).Should().Throw<ArgumentException>().WithMessage(
            "Invalid PolicyLossOptions: EpsilonLow must be in [0, 1); got -0.1. KlValueClamp must be > 0; got 0. "
            + "SamplerCorrectionMin and SamplerCorrectionMax must satisfy 0 <= SamplerCorrectionMin < SamplerCorrectionMax < infinity; got [0, 0]. (Parameter 'options')");
        new GrpoTrainerOptions().Invoking(o => o.Validate()).Should().NotThrow();
        OptionsValidation.Problems(new SamplingOptions()).Should().BeEmpty();
    }
}
