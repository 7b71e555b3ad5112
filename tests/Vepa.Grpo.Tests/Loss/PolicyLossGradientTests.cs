using TorchSharp;
using static TorchSharp.torch;
using Shape = Vepa.Grpo.Tests.LossTestData.Shape;

namespace Vepa.Grpo.Tests;

/// <summary>Gradients against central finite differences (float64), and how the loss composes with autograd.</summary>
public sealed class PolicyLossGradientTests
{
    private const int B = 4;
    private const int T = 6;

    private static readonly Dictionary<string, PolicyLossOptions> FiniteDifferenceOptions = new()
    {
        ["clip,token,delta,dual,lr-clamp,k3-clamped,trunc-token"] = new PolicyLossOptions
        {
            Delta = 1.5, DualClip = 3, LogRatioClamp = 1.5, Beta = 0.1, KlEstimator = KlEstimator.K3, KlLogRatioClamp = 0.8, KlValueClamp = 0.1,
            SamplerCorrection = SamplerCorrectionMode.Truncate, SamplerCorrectionMin = 0.5, SamplerCorrectionMax = 3,
        },
        ["clip,sequence,clip-higher,k2,token-mean,mask-seq"] = new PolicyLossOptions
        {
            RatioLevel = RatioLevel.Sequence, EpsilonHigh = 0.28, Beta = 0.05, KlEstimator = KlEstimator.K2, Aggregation = LossAggregation.TokenMean,
            SamplerCorrection = SamplerCorrectionMode.Mask, SamplerCorrectionPerSequence = true, SamplerCorrectionMin = 0.5, SamplerCorrectionMax = 3,
        },
        ["cispo,token,k1,constant,lr-clamp"] = new PolicyLossOptions
        {
            Objective = PolicyObjective.Cispo, EpsilonHigh = 1.3, LogRatioClamp = 1.0, Beta = 0.2, KlEstimator = KlEstimator.K1,
            Aggregation = LossAggregation.ConstantNormalizer, MaxCompletionLength = 8,
        },
        ["cispo,sequence,k3,token-sum,trunc-seq"] = new PolicyLossOptions
        {
            Objective = PolicyObjective.Cispo, RatioLevel = RatioLevel.Sequence, EpsilonHigh = 1.1, Beta = 0.05, Aggregation = LossAggregation.TokenSum,
            SamplerCorrection = SamplerCorrectionMode.Truncate, SamplerCorrectionPerSequence = true, SamplerCorrectionMin = 0.5, SamplerCorrectionMax = 3,
        },
    };

    public static TheoryData<string, string> FiniteDifferenceData()
    {
        var data = new TheoryData<string, string>();
        foreach (string kernel in LossTestData.Kernels)
        {
            foreach (string name in FiniteDifferenceOptions.Keys)
            {
                data.Add(kernel, name);
            }
        }

        return data;
    }

    public static TheoryData<string> KernelData() => new(LossTestData.Kernels);

    [Theory]
    [MemberData(nameof(FiniteDifferenceData))]
    public void Gradient_matches_central_finite_differences(string kernel, string name)
    {
        PolicyLossOptions options = FiniteDifferenceOptions[name].Clone();
        options.Kernel = kernel;
        using var scope = NewDisposeScope();

        // Log-ratios, KL inputs and sampler log-weights come from small sets that keep every kink (clip range, δ, dual
        // bound, clamps) far from each value, so the loss is smooth within ±h of the point.
        double[] logRatios = [0.05, -0.05, 0.1, -0.1, 0.35, -0.35, 0.7, -0.7, 1.3, 1.6];
        double[] klInputs = [0.1, -0.1, 0.2, -0.2, 0.5, -0.6, 0.9];
        double[] samplerLogWeights = [0.2, -0.2, 1.5, -1.5, 0.05];
        bool[] valid = Enumerable.Range(0, B * T).Select(i => i is not (5 or 10 or 11 or 23)).ToArray();
        double[] logp = Enumerable.Range(0, B * T).Select(i => -(0.3 + (0.1 * (i % 7)))).ToArray();
        double[] old = Enumerable.Range(0, B * T).Select(i => logp[i] - logRatios[(i * 7) % logRatios.Length]).ToArray();
        double[] reference = Enumerable.Range(0, B * T).Select(i => logp[i] + klInputs[(i * 3) % klInputs.Length]).ToArray();
        double[] sampler = Enumerable.Range(0, B * T).Select(i => old[i] - samplerLogWeights[(i * 2) % samplerLogWeights.Length]).ToArray();
        AssertSequenceRatiosAwayFromKinks(logp, old, valid, options);

        var shape = new Shape(B, T);
        Tensor mask = tensor(valid).reshape(B, T);
        // CISPO's ratio is a stop-gradient factor: its gradient is d loss / d logp with ρ (and the sampler weights) held
        // fixed, which finite differences see when old and sampler log-probs move together with logp.
        bool frozenRatio = options.Objective == PolicyObjective.Cispo;
        PolicyLossInputs At(double[] values, int moved = -1, double by = 0) => new()
        {
            LogProbs = LossTestData.Make(values, shape),
            Advantages = tensor(new[] { 1.3, -0.7, 0.4, -2.0 }),
            Mask = mask,
            OldLogProbs = LossTestData.Make(frozenRatio ? Shift(old, moved, by) : old, shape),
            ReferenceLogProbs = LossTestData.Make(reference, shape),
            SamplerLogProbs = LossTestData.Make(frozenRatio ? Shift(sampler, moved, by) : sampler, shape),
        };

        PolicyLossInputs inputs = At(logp);
        inputs.LogProbs.requires_grad_();
        using PolicyLossResult result = PolicyLoss.Compute(inputs, options);
        double[] analytic = autograd.grad([result.Loss], [inputs.LogProbs])[0].data<double>().ToArray();

        const double h = 1e-6;
        double[] numeric = new double[B * T];
        using (no_grad())
        {
            for (int i = 0; i < B * T; i++)
            {
                using PolicyLossResult up = PolicyLoss.Compute(At(Shift(logp, i, h), i, h), options);
                using PolicyLossResult down = PolicyLoss.Compute(At(Shift(logp, i, -h), i, -h), options);
                numeric[i] = (up.Loss.item<double>() - down.Loss.item<double>()) / (2 * h);
            }
        }

        double scale = analytic.Max(Math.Abs);
        scale.Should().BeGreaterThan(0.01, "the case must have a real gradient");
        for (int i = 0; i < B * T; i++)
        {
            analytic[i].Should().BeApproximately(numeric[i], 1e-6 * scale, $"d loss / d logp[{i / T}, {i % T}]");
            if (!valid[i])
            {
                analytic[i].Should().Be(0);
            }
        }
    }

    [Theory]
    [MemberData(nameof(KernelData))]
    public void The_incoming_gradient_scales_the_result(string kernel)
    {
        using var scope = NewDisposeScope();
        PolicyLossInputs inputs = LossTestData.Random(11, new Shape(5, 8));
        var options = new PolicyLossOptions { Beta = 0.04, DualClip = 3, Kernel = kernel };

        using PolicyLossResult result = PolicyLoss.Compute(inputs, options);
        Tensor once = autograd.grad([result.Loss], [inputs.LogProbs], retain_graph: true)[0];
        Tensor scaled = autograd.grad([result.Loss * -2.5], [inputs.LogProbs])[0];

        LossTestData.AssertTensorClose(scaled, once * -2.5, 1e-15, "gradient of −2.5·loss");
    }

    [Theory]
    [MemberData(nameof(KernelData))]
    public void Without_gradients_the_loss_and_statistics_are_unchanged(string kernel)
    {
        using var scope = NewDisposeScope();
        PolicyLossInputs inputs = LossTestData.Random(12, new Shape(5, 8));
        var options = new PolicyLossOptions { Beta = 0.04, SamplerCorrection = SamplerCorrectionMode.Truncate, Kernel = kernel };
        var expected = LossTestData.RunReference(inputs, options);

        PolicyLossInputs detached = inputs with { LogProbs = inputs.LogProbs.detach() };
        using PolicyLossResult plain = PolicyLoss.Compute(detached, options);
        PolicyLossResult underNoGrad;
        using (no_grad())
        {
            underNoGrad = PolicyLoss.Compute(inputs, options);
        }

        using (underNoGrad)
        {
            foreach (PolicyLossResult r in new[] { plain, underNoGrad })
            {
                r.Loss.requires_grad.Should().BeFalse();
                LossTestData.AssertClose(r.Loss.item<double>(), expected.Loss, 1e-12, "loss");
                LossTestData.AssertStatisticsClose(r.Statistics, expected.Statistics, 1e-12);
            }

            // Turning gradients off changes nothing the kernel reports: bit for bit the same statistics.
            underNoGrad.Statistics.Should().Be(plain.Statistics);
        }
    }

    [Theory]
    [MemberData(nameof(KernelData))]
    public void No_old_log_probs_means_on_policy(string kernel)
    {
        // OldLogProbs = null must equal passing old = stopgrad(logp): ρ = 1 exactly, loss −mean(A)-like, gradient −A·scale.
        using var scope = NewDisposeScope();
        PolicyLossInputs inputs = LossTestData.Random(13, new Shape(6, 9) { WithOld = false });
        var options = new PolicyLossOptions { Beta = 0.04, LogRatioClamp = 20, DualClip = 3 };

        var onPolicy = LossTestData.RunKernel(inputs, options, kernel);
        var explicitOld = LossTestData.RunKernel(inputs with { OldLogProbs = inputs.LogProbs.detach().clone() }, options, kernel);

        onPolicy.Loss.Should().Be(explicitOld.Loss);
        onPolicy.Statistics.Should().Be(explicitOld.Statistics);
        onPolicy.Statistics.MeanRatio.Should().Be(1);
        LossTestData.AssertTensorClose(onPolicy.Gradient, explicitOld.Gradient, 0, "gradient");
    }

    public static TheoryData<string, ScalarType> LowPrecisionData() => new()
    {
        { "fused-tensor", ScalarType.BFloat16 },
        { "fused-tensor", ScalarType.Float16 },
        { "auto", ScalarType.BFloat16 },
    };

    [Theory]
    [MemberData(nameof(LowPrecisionData))]
    public void Half_precision_log_probs_are_computed_in_float32_and_get_a_gradient_of_their_own_dtype(string kernel, ScalarType dtype)
    {
        // The reference converts the same half-precision inputs to float32 and differentiates through the conversion.
        // Losses agree to float32 rounding; gradients are rounded to the half dtype on both sides (one half-ulp apart at most).
        using var scope = NewDisposeScope();
        PolicyLossInputs inputs = LossTestData.Random(14, new Shape(5, 16) { Dtype = dtype, PerTokenAdvantages = true });
        var options = new PolicyLossOptions { Beta = 0.04, Aggregation = LossAggregation.TokenMean, SamplerCorrection = SamplerCorrectionMode.Truncate };

        var expected = LossTestData.RunReference(inputs, options);
        var actual = LossTestData.RunKernel(inputs, options, kernel);

        LossTestData.AssertClose(actual.Loss, expected.Loss, 1e-5, "loss");
        actual.Gradient.dtype.Should().Be(dtype);
        LossTestData.AssertTensorClose(actual.Gradient, expected.Gradient, dtype == ScalarType.BFloat16 ? 1e-2 : 1e-3, "gradient");
        actual.Statistics.TokenCount.Should().Be(expected.Statistics.TokenCount);
        LossTestData.AssertClose(actual.Statistics.MeanKl, expected.Statistics.MeanKl, 1e-5, "MeanKl");
    }

    private static double[] Shift(double[] values, int index, double by)
    {
        double[] copy = (double[])values.Clone();
        if (index >= 0)
        {
            copy[index] += by;
        }

        return copy;
    }

    private static void AssertSequenceRatiosAwayFromKinks(double[] logp, double[] old, bool[] valid, PolicyLossOptions options)
    {
        if (options.RatioLevel != RatioLevel.Sequence)
        {
            return;
        }

        double[] kinks = options.Objective == PolicyObjective.Clip
            ? [Math.Log(1 - options.EpsilonLow), Math.Log(1 + options.EpsilonHigh)]
            : [Math.Log(options.EpsilonHigh)];
        for (int b = 0; b < B; b++)
        {
            var rows = Enumerable.Range(b * T, T).Where(i => valid[i]).Select(i => logp[i] - old[i]).ToArray();
            double mean = rows.Average();
            kinks.Min(k => Math.Abs(k - mean)).Should().BeGreaterThan(1e-3, $"row {b}'s sequence log-ratio {mean} must be away from a kink");
        }
    }
}
