using TorchSharp;
using static TorchSharp.torch;
using Shape = Vepa.Grpo.Tests.LossTestData.Shape;

namespace Vepa.Grpo.Tests;

/// <summary>Every kernel against the autograd reference, over a cartesian subset of the option space and awkward shapes.</summary>
public sealed class PolicyLossKernelTests
{
    private const double Float64Tolerance = 1e-10;
    private const double Float32Tolerance = 1e-5;

    /// <summary>objective × ratio level × aggregation × KL × sampler mode (320 combinations), with δ / dual clip /
    /// log-ratio clamp, clip-higher, on-policy (no old log-probs), per-token advantages and float masks cycled through.</summary>
    private static readonly (string Name, PolicyLossOptions Options, Shape Shape)[] Cases = BuildCases();

    public static TheoryData<string, int, string> CaseData()
    {
        var data = new TheoryData<string, int, string>();
        foreach (string kernel in LossTestData.Kernels)
        {
            for (int i = 0; i < Cases.Length; i++)
            {
                data.Add(kernel, i, Cases[i].Name);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(CaseData))]
    public void Kernel_matches_the_autograd_reference(string kernel, int index, string name)
    {
        (string expectedName, PolicyLossOptions options, Shape shape) = Cases[index];
        name.Should().Be(expectedName);
        using var scope = NewDisposeScope();

        LossTestData.AssertMatchesReference(LossTestData.Random(1000 + index, shape), options, kernel, Float64Tolerance);
        if (index % 3 == 0)
        {
            LossTestData.AssertMatchesReference(
                LossTestData.Random(5000 + index, shape with { Dtype = ScalarType.Float32 }), options, kernel, Float32Tolerance);
        }
    }

    public static TheoryData<string, string> ShapeData()
    {
        var data = new TheoryData<string, string>();
        foreach (string kernel in LossTestData.Kernels)
        {
            foreach (string shape in AwkwardShapes.Keys)
            {
                data.Add(kernel, shape);
            }
        }

        return data;
    }

    private static readonly Dictionary<string, Shape> AwkwardShapes = new()
    {
        ["B=1,T=1"] = new Shape(1, 1),
        ["B=1,T=6"] = new Shape(1, 6),
        ["B=2 (G=2),T=5"] = new Shape(2, 5),
        ["B=5,T=1"] = new Shape(5, 1),
        ["fully masked batch"] = new Shape(3, 4) { FullyMasked = true },
        ["long row T=4096"] = new Shape(2, 4096),
        ["float mask, per-token advantages"] = new Shape(4, 9) { FloatMask = true, PerTokenAdvantages = true },
    };

    private static readonly PolicyLossOptions[] ShapeOptions =
    [
        new PolicyLossOptions(),
        new PolicyLossOptions
        {
            RatioLevel = RatioLevel.Sequence, Aggregation = LossAggregation.TokenMean, Beta = 0.04, KlEstimator = KlEstimator.K3,
            DualClip = 3, Delta = 2, LogRatioClamp = 20, SamplerCorrection = SamplerCorrectionMode.Truncate,
        },
        new PolicyLossOptions
        {
            Objective = PolicyObjective.Cispo, EpsilonHigh = 1.2, Aggregation = LossAggregation.ConstantNormalizer, MaxCompletionLength = 4096,
            Beta = 0.1, KlEstimator = KlEstimator.K2, SamplerCorrection = SamplerCorrectionMode.Mask, SamplerCorrectionPerSequence = true,
            SamplerCorrectionMin = 0.5,
        },
        new PolicyLossOptions { Aggregation = LossAggregation.TokenSum, Beta = 0.02, KlEstimator = KlEstimator.K1 },
    ];

    [Theory]
    [MemberData(nameof(ShapeData))]
    public void Kernel_matches_the_reference_on_awkward_shapes(string kernel, string shapeName)
    {
        using var scope = NewDisposeScope();
        Shape shape = AwkwardShapes[shapeName];
        for (int i = 0; i < ShapeOptions.Length; i++)
        {
            PolicyLossInputs inputs = LossTestData.Random(77 + i, shape);
            LossTestData.AssertMatchesReference(inputs, ShapeOptions[i], kernel, Float64Tolerance);
            LossTestData.AssertMatchesReference(inputs with { OldLogProbs = null }, ShapeOptions[i] is { SamplerCorrection: SamplerCorrectionMode.None } o ? o : ShapeOptions[0], kernel, Float64Tolerance);
        }
    }

    private static (string, PolicyLossOptions, Shape)[] BuildCases()
    {
        var cases = new List<(string, PolicyLossOptions, Shape)>();
        (string Name, Action<PolicyLossOptions> Apply)[] kls =
        [
            ("beta=0", _ => { }),
            ("k1", o => { o.Beta = 0.05; o.KlEstimator = KlEstimator.K1; }),
            ("k2+kl-clamp", o => { o.Beta = 0.05; o.KlEstimator = KlEstimator.K2; o.KlLogRatioClamp = 0.3; }),
            ("k3+verl-clamps", o => { o.Beta = 0.04; o.KlEstimator = KlEstimator.K3; o.KlLogRatioClamp = 0.3; o.KlValueClamp = 0.02; }),
        ];
        (string Name, SamplerCorrectionMode Mode, bool PerSequence)[] samplers =
        [
            ("no-sampler", SamplerCorrectionMode.None, false),
            ("trunc-token", SamplerCorrectionMode.Truncate, false),
            ("mask-token", SamplerCorrectionMode.Mask, false),
            ("trunc-seq", SamplerCorrectionMode.Truncate, true),
            ("mask-seq", SamplerCorrectionMode.Mask, true),
        ];
        int k = 0;
        foreach (PolicyObjective objective in Enum.GetValues<PolicyObjective>())
        {
            foreach (RatioLevel level in Enum.GetValues<RatioLevel>())
            {
                foreach (LossAggregation aggregation in Enum.GetValues<LossAggregation>())
                {
                    foreach (var kl in kls)
                    {
                        foreach (var sampler in samplers)
                        {
                            var o = new PolicyLossOptions
                            {
                                Objective = objective,
                                RatioLevel = level,
                                Aggregation = aggregation,
                                SamplerCorrection = sampler.Mode,
                                SamplerCorrectionPerSequence = sampler.PerSequence,
                                SamplerCorrectionMin = 0.5,
                                SamplerCorrectionMax = 1.8,
                            };
                            kl.Apply(o);
                            var parts = new List<string> { objective.ToString(), level.ToString(), aggregation.ToString(), kl.Name, sampler.Name };
                            if (objective == PolicyObjective.Clip)
                            {
                                if (k % 3 == 1)
                                {
                                    o.EpsilonHigh = 0.28;
                                    parts.Add("clip-higher");
                                }

                                switch (k % 4)
                                {
                                    case 1: o.Delta = 1.5; parts.Add("delta"); break;
                                    case 2: o.DualClip = 2; o.LogRatioClamp = 0.4; parts.Add("dual+lr-clamp"); break;
                                    case 3: o.Delta = 1.5; o.DualClip = 3; o.LogRatioClamp = 0.4; parts.Add("delta+dual+lr-clamp"); break;
                                    default: break;
                                }
                            }
                            else
                            {
                                o.EpsilonHigh = 1.3;
                                if (k % 2 == 1)
                                {
                                    o.LogRatioClamp = 0.4;
                                    parts.Add("lr-clamp");
                                }
                            }

                            if (aggregation == LossAggregation.ConstantNormalizer && k % 2 == 0)
                            {
                                o.MaxCompletionLength = 11;
                                parts.Add("Lmax=11");
                            }

                            bool onPolicy = sampler.Mode == SamplerCorrectionMode.None && k % 2 == 0;
                            var shape = new Shape(6, 7)
                            {
                                WithOld = !onPolicy,
                                PerTokenAdvantages = k % 3 == 2,
                                FloatMask = k % 4 == 3,
                            };
                            parts.Add(onPolicy ? "on-policy" : "old");
                            if (shape.PerTokenAdvantages)
                            {
                                parts.Add("token-adv");
                            }

                            if (shape.FloatMask)
                            {
                                parts.Add("float-mask");
                            }

                            cases.Add((string.Join(",", parts), o, shape));
                            k++;
                        }
                    }
                }
            }
        }

        return cases.ToArray();
    }
}
