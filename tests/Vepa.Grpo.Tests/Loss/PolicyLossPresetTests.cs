using TorchSharp;
using static TorchSharp.torch;

namespace Vepa.Grpo.Tests;

/// <summary>The named presets hold the settings of the methods they name and compute what the float64 reference computes.</summary>
public sealed class PolicyLossPresetTests
{
    public static TheoryData<string> Names => new() { "trl-grpo", "dr-grpo", "dapo", "gspo", "cispo", "verl-grpo" };

    [Fact]
    public void Each_preset_holds_the_source_methods_settings()
    {
        var trl = PolicyLossPresets.TrlGrpo();
        (trl.Objective, trl.RatioLevel, trl.EpsilonLow, trl.EpsilonHigh, trl.Beta, trl.KlEstimator, trl.Aggregation)
            .Should().Be((PolicyObjective.Clip, RatioLevel.Token, 0.2, 0.2, 0.04, KlEstimator.K3, LossAggregation.SequenceMeanTokenMean));
        var dr = PolicyLossPresets.DrGrpo(256);
        (dr.Aggregation, dr.MaxCompletionLength, dr.Beta).Should().Be((LossAggregation.ConstantNormalizer, 256, 0.0));
        var dapo = PolicyLossPresets.Dapo();
        (dapo.EpsilonLow, dapo.EpsilonHigh, dapo.Aggregation, dapo.Beta).Should().Be((0.2, 0.28, LossAggregation.TokenMean, 0.0));
        var gspo = PolicyLossPresets.Gspo();
        (gspo.RatioLevel, gspo.EpsilonLow, gspo.EpsilonHigh, gspo.Beta).Should().Be((RatioLevel.Sequence, 3e-4, 4e-4, 0.0));
        var cispo = PolicyLossPresets.Cispo();
        (cispo.Objective, cispo.EpsilonHigh, cispo.Aggregation).Should().Be((PolicyObjective.Cispo, 5.0, LossAggregation.TokenMean));
        var verl = PolicyLossPresets.VerlGrpo();
        (verl.DualClip, verl.Beta, verl.KlLogRatioClamp, verl.KlValueClamp, verl.Aggregation).Should().Be((3.0, 0.001, 20.0, 10.0, LossAggregation.TokenMean));
        PolicyLossPresets.TrlGrpo().Should().NotBeSameAs(PolicyLossPresets.TrlGrpo(), "each call returns a new instance");
        var bad = () => PolicyLossPresets.DrGrpo(0);
        bad.Should().Throw<ArgumentOutOfRangeException>().WithParameterName("maxCompletionLength");
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Each_preset_is_valid_and_matches_the_float64_reference_on_both_kernels(string name)
    {
        var options = Create(name);
        options.Validate();
        foreach (var kernel in LossTestData.Kernels)
        {
            using var scope = NewDisposeScope();
            options.Kernel = kernel;
            var inputs = LossTestData.Random(seed: name.Length * 31, new LossTestData.Shape(5, 11));
            using var result = PolicyLoss.Compute(inputs, options);
            var expected = ReferencePolicyLoss.Compute(inputs, options);
            result.Loss.item<double>().Should().BeApproximately(expected.Loss.item<double>(), 1e-12, $"{name} on {kernel}");
        }
    }

    private static PolicyLossOptions Create(string name) => name switch
    {
        "trl-grpo" => PolicyLossPresets.TrlGrpo(),
        "dr-grpo" => PolicyLossPresets.DrGrpo(11),
        "dapo" => PolicyLossPresets.Dapo(),
        "gspo" => PolicyLossPresets.Gspo(),
        "cispo" => PolicyLossPresets.Cispo(),
        "verl-grpo" => PolicyLossPresets.VerlGrpo(),
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, null),
    };
}
