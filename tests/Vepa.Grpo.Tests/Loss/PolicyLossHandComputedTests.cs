using TorchSharp;
using static TorchSharp.torch;

namespace Vepa.Grpo.Tests;

/// <summary>Small cases worked out by hand from the formulas in GRPO-REFERENCE.md (arithmetic in the comments).</summary>
public sealed class PolicyLossHandComputedTests
{
    private const double Tolerance = 1e-12;
    private static readonly double Ln2 = Math.Log(2);
    private static readonly double Nan = double.NaN;

    public static TheoryData<string> KernelData() => new(LossTestData.Kernels);

    [Theory]
    [MemberData(nameof(KernelData))]
    public void Trl_clip_with_delta_and_k3(string kernel)
    {
        // TRL "grpo": ε = 0.2, δ = 1.5, β = 0.04 with k3, no log-ratio clamp, sequence-mean of token-mean.
        // Row 0 (A = +1): ρ = [2, 0.5], x = ref − logp = [ln 2, 0].  Row 1 (A = −1): ρ = [3, masked (NaN)], x = [−ln 2, ·].
        // Policy: row 0 t0: −min(min(2, δ)·1, clip(2)·1) = −min(1.5, 1.2) = −1.2 (clipped branch, ρ out of range: no gradient)
        //         row 0 t1: −min(0.5, 0.8) = −0.5, dl/dρ = −A = −1, dl/dlogp = −1·ρ = −0.5
        //         row 1 t0: −min(min(3, δ)·(−1), 1.2·(−1)) = −min(−1.5, −1.2) = 1.5; ρ > δ so d min(ρ, δ)/dρ = 0: no gradient
        // k3(x) = eˣ − x − 1: k3(ln 2) = 1 − ln 2, k3(0) = 0, k3(−ln 2) = ln 2 − 0.5; dk3/dlogp = −(eˣ − 1) = [−1, 0 | 0.5]
        // loss = ½[½(−1.2 + 0.04(1 − ln 2) − 0.5) + (1.5 + 0.04(ln 2 − 0.5))] = 0.325 + 0.01 ln 2
        // grad = row 0: ¼[0.04·(−1), −0.5] = [−0.01, −0.125]; row 1: ½[0.04·0.5] = 0.01, masked 0
        PolicyLossInputs inputs = Inputs(
            logp: new double[,] { { -1, -2 }, { -0.5, Nan } },
            logRatio: new double[,] { { Ln2, -Ln2 }, { Math.Log(3), 0 } },
            refMinusLogp: new double[,] { { Ln2, 0 }, { -Ln2, 0 } },
            advantages: [1, -1],
            mask: new bool[,] { { true, true }, { true, false } });
        var options = new PolicyLossOptions { Delta = 1.5, Beta = 0.04, KlEstimator = KlEstimator.K3 };

        var (loss, stats, grad) = LossTestData.RunKernel(inputs, options, kernel);

        loss.Should().BeApproximately(0.325 + (0.01 * Ln2), Tolerance);
        AssertGrad(grad, new double[,] { { -0.01, -0.125 }, { 0.01, 0 } });
        stats.Should().BeEquivalentTo(
            new PolicyLossStatistics(0, 1.0 / 3, 0, 5.5 / 3, 0.5 / 3, 0, 3),
            o => o.Using<double>(c => c.Subject.Should().BeApproximately(c.Expectation, Tolerance)).WhenTypeIs<double>());
    }

    [Theory]
    [MemberData(nameof(KernelData))]
    public void Verl_log_ratio_clamp_dual_clip_and_clamped_k3(string kernel)
    {
        // verl: log-ratio clamp 20, dual clip c = 3, k3 with input clamp 20 and value clamp 10, β = 0.1, token-mean. A = −1.
        // log-ratio = [25 → 20, ln 2, −ln 2], ρ = [e²⁰, 2, 0.5]; x = ref − logp = [25 → 20, 0, ln 2].
        // t0: clipped = −min(−e²⁰, −1.2) = e²⁰; dual: min(−A·c = 3, e²⁰) = 3 (bound active, no gradient; the clamp also cuts it)
        //     k3 = e²⁰ − 20 − 1 → clamped to 10 (no gradient)
        // t1: clipped = −min(−2, −1.2) = 2 < 3, unclipped branch: dl/dρ = 1, dl/dlogp = ρ = 2; k3(0) = 0, dk3/dlogp = 0
        // t2: clipped = −min(−0.5, −0.8) = 0.8 (clipped branch, no gradient); k3(ln 2) = 1 − ln 2, dk3/dlogp = −1
        // loss = (3 + 0.1·10 + 2 + 0.8 + 0.1(1 − ln 2)) / 3 = (6.9 − 0.1 ln 2) / 3;  grad = [0, 2/3, −0.1/3]
        PolicyLossInputs inputs = Inputs(
            logp: new double[,] { { -1, -2, -3 } },
            logRatio: new double[,] { { 25, Ln2, -Ln2 } },
            refMinusLogp: new double[,] { { 25, 0, Ln2 } },
            advantages: [-1],
            mask: new bool[,] { { true, true, true } });
        var options = new PolicyLossOptions
        {
            LogRatioClamp = 20, DualClip = 3, Beta = 0.1, KlEstimator = KlEstimator.K3, KlLogRatioClamp = 20, KlValueClamp = 10,
            Aggregation = LossAggregation.TokenMean,
        };

        var (loss, stats, grad) = LossTestData.RunKernel(inputs, options, kernel);

        loss.Should().BeApproximately((6.9 - (0.1 * Ln2)) / 3, Tolerance);
        AssertGrad(grad, new double[,] { { 0, 2.0 / 3, -0.1 / 3 } });
        stats.DualClipFraction.Should().BeApproximately(1.0 / 3, Tolerance);
        stats.ClipFractionLow.Should().BeApproximately(1.0 / 3, Tolerance);
        stats.ClipFractionHigh.Should().Be(0);
        stats.MeanRatio.Should().BeApproximately((Math.Exp(20) + 2.5) / 3, 1e-12 * Math.Exp(20));
        stats.MeanKl.Should().BeApproximately((11 - Ln2) / 3, Tolerance);
        stats.TokenCount.Should().Be(3);
    }

    [Theory]
    [MemberData(nameof(KernelData))]
    public void A_ratio_exactly_on_the_dual_clip_bound_gets_half_the_gradient(string kernel)
    {
        // A = −1, ρ = exp(ln 2) = 2 exactly, c = 2: clipped = −min(−2, −1.2) = 2 = −A·c, a tie in min(−A·c, clipped):
        // torch.minimum gives each side half, so dl/dlogp = ½ · (dl/dρ = 1) · ρ = 1. loss = 2.
        PolicyLossInputs inputs = Inputs(
            logp: new double[,] { { -1 } }, logRatio: new double[,] { { Ln2 } }, refMinusLogp: null, advantages: [-1], mask: new bool[,] { { true } });

        var (loss, stats, grad) = LossTestData.RunKernel(inputs, new PolicyLossOptions { DualClip = 2 }, kernel);

        loss.Should().Be(2);
        AssertGrad(grad, new double[,] { { 1 } });
        stats.DualClipFraction.Should().Be(0, "the bound ties with the clipped loss, it is not strictly below it");
    }

    [Theory]
    [MemberData(nameof(KernelData))]
    public void Gspo_sequence_ratio(string kernel)
    {
        // GSPO: ρ = exp((0.2 − 0.1) / 2) = e^0.05 ≈ 1.0513 (inside [0.8, 1.2]); the masked NaN token is left out of the mean.
        // A = 2: l = −2ρ on both tokens; loss (sequence mean of token mean) = −2e^0.05.
        // dL/dlogp_t = dL/dρ · ρ · (1/2) = (−2)(e^0.05)(1/2) = −e^0.05 for each valid token.
        PolicyLossInputs inputs = Inputs(
            logp: new double[,] { { -1, -2, Nan } },
            logRatio: new double[,] { { 0.2, -0.1, Nan } },
            refMinusLogp: null,
            advantages: [2],
            mask: new bool[,] { { true, true, false } });

        var (loss, stats, grad) = LossTestData.RunKernel(inputs, new PolicyLossOptions { RatioLevel = RatioLevel.Sequence }, kernel);

        double rho = Math.Exp(0.05);
        loss.Should().BeApproximately(-2 * rho, Tolerance);
        AssertGrad(grad, new double[,] { { -rho, -rho, 0 } });
        stats.MeanRatio.Should().BeApproximately(rho, Tolerance);
        stats.TokenCount.Should().Be(2);
    }

    [Theory]
    [MemberData(nameof(KernelData))]
    public void Cispo_caps_the_detached_ratio(string kernel)
    {
        // CISPO with cap ε_high = 1.5, A = 0.5, logp = [−1, −2], ρ = [2 → 1.5, 0.5]:
        // l = −sg(min(ρ, 1.5))·A·logp = [−1.5·0.5·(−1), −0.5·0.5·(−2)] = [0.75, 0.5]; token-mean loss = 0.625.
        // dl/dlogp = −min(ρ, 1.5)·A = [−0.75, −0.25], halved by the token mean: [−0.375, −0.125]. ClipFractionHigh = 1/2.
        PolicyLossInputs inputs = Inputs(
            logp: new double[,] { { -1, -2 } }, logRatio: new double[,] { { Ln2, -Ln2 } }, refMinusLogp: null, advantages: [0.5],
            mask: new bool[,] { { true, true } });
        var options = new PolicyLossOptions { Objective = PolicyObjective.Cispo, EpsilonHigh = 1.5, Aggregation = LossAggregation.TokenMean };

        var (loss, stats, grad) = LossTestData.RunKernel(inputs, options, kernel);

        loss.Should().BeApproximately(0.625, Tolerance);
        AssertGrad(grad, new double[,] { { -0.375, -0.125 } });
        stats.ClipFractionHigh.Should().Be(0.5);
        stats.ClipFractionLow.Should().Be(0);
    }

    [Theory]
    [MemberData(nameof(KernelData))]
    public void K1_and_k2_estimators(string kernel)
    {
        // On-policy with A = 0 the policy term is 0; only β·KL remains. logp − ref = [0.5, −0.3], β = 0.5, token sum.
        // k1 = logp − ref: loss = 0.5(0.5 − 0.3) = 0.1, grad = [0.5, 0.5].
        // k2 = ½(logp − ref)²: loss = 0.5·½(0.25 + 0.09) = 0.085, grad = 0.5·(logp − ref) = [0.25, −0.15].
        PolicyLossInputs inputs = Inputs(
            logp: new double[,] { { -1, -2 } }, logRatio: null, refMinusLogp: new double[,] { { -0.5, 0.3 } }, advantages: [0],
            mask: new bool[,] { { true, true } });
        var options = new PolicyLossOptions { Beta = 0.5, KlEstimator = KlEstimator.K1, Aggregation = LossAggregation.TokenSum };

        var (loss1, stats1, grad1) = LossTestData.RunKernel(inputs, options, kernel);
        options.KlEstimator = KlEstimator.K2;
        var (loss2, stats2, grad2) = LossTestData.RunKernel(inputs, options, kernel);

        loss1.Should().BeApproximately(0.1, Tolerance);
        AssertGrad(grad1, new double[,] { { 0.5, 0.5 } });
        stats1.MeanKl.Should().BeApproximately(0.1, Tolerance);
        loss2.Should().BeApproximately(0.085, Tolerance);
        AssertGrad(grad2, new double[,] { { 0.25, -0.15 } });
        stats2.MeanKl.Should().BeApproximately(0.085, Tolerance);
        stats2.MeanRatio.Should().Be(1, "on-policy ρ = 1 exactly");
    }

    [Theory]
    [MemberData(nameof(KernelData))]
    public void Sampler_correction_truncate_mask_and_per_sequence(string kernel)
    {
        // ρ = 1 (old = logp), A = 1, so the policy term per token is −1 (dl/dlogp = −1); weights w = exp(old − sampler).
        // old − sampler = [ln 4, −ln 2] → w = [4, 0.5]; bounds [0.6, 3]: both weights are outside.
        //  truncate: w = [3, 0.6]: loss (token sum) = −3.6, grad = [−3, −0.6]
        //  mask:     w = [0, 0]:   loss = 0, grad = [0, 0]
        //  per sequence, truncate: w = exp(ln 4 − ln 2) = 2 on both tokens (inside): loss = −4, grad = [−2, −2]
        var logp = new double[,] { { -1, -2 } };
        PolicyLossInputs inputs = Inputs(logp, logRatio: new double[,] { { 0, 0 } }, refMinusLogp: null, advantages: [1], mask: new bool[,] { { true, true } })
            with
        {
            SamplerLogProbs = tensor(new double[] { -1 - Math.Log(4), -2 + Ln2 }).reshape(1, 2),
        };
        var options = new PolicyLossOptions
        {
            Aggregation = LossAggregation.TokenSum, SamplerCorrection = SamplerCorrectionMode.Truncate, SamplerCorrectionMin = 0.6, SamplerCorrectionMax = 3,
        };

        var truncate = LossTestData.RunKernel(inputs, options, kernel);
        options.SamplerCorrection = SamplerCorrectionMode.Mask;
        var mask = LossTestData.RunKernel(inputs, options, kernel);
        options.SamplerCorrection = SamplerCorrectionMode.Truncate;
        options.SamplerCorrectionPerSequence = true;
        var perSequence = LossTestData.RunKernel(inputs, options, kernel);

        truncate.Loss.Should().BeApproximately(-3.6, Tolerance);
        AssertGrad(truncate.Gradient, new double[,] { { -3, -0.6 } });
        truncate.Statistics.SamplerCorrectionFraction.Should().Be(1);
        mask.Loss.Should().Be(0);
        AssertGrad(mask.Gradient, new double[,] { { 0, 0 } });
        perSequence.Loss.Should().BeApproximately(-4, Tolerance);
        AssertGrad(perSequence.Gradient, new double[,] { { -2, -2 } });
        perSequence.Statistics.SamplerCorrectionFraction.Should().Be(0);
    }

    [Theory]
    [MemberData(nameof(KernelData))]
    public void The_four_aggregations(string kernel)
    {
        // On-policy, per-token loss l = −A (ρ = 1, gradient −A: both min branches tie and each passes half).
        // Row 0: A = 1, 3 valid tokens → l = [−1, −1, −1]; row 1: A = −1, 1 valid token → l = [1, ·, ·].
        //  sequence-mean token-mean: ½(−3/3 + 1/1) = 0;        grad row 0: −1/(2·3) = −1/6, row 1: +1/2
        //  token-mean:               (−3 + 1)/4 = −0.5;        grad −1/4 | +1/4
        //  constant (L_max = 5):     (−3 + 1)/(2·5) = −0.2;    grad −1/10 | +1/10
        //  token-sum:                −2;                       grad −1 | +1
        var mask = new bool[,] { { true, true, true }, { true, false, false } };
        PolicyLossInputs inputs = Inputs(
            logp: new double[,] { { -1, -2, -3 }, { -0.5, Nan, double.PositiveInfinity } }, logRatio: null, refMinusLogp: null, advantages: [1, -1], mask: mask);
        (LossAggregation Aggregation, double Loss, double Row0, double Row1)[] expected =
        [
            (LossAggregation.SequenceMeanTokenMean, 0, -1.0 / 6, 0.5),
            (LossAggregation.TokenMean, -0.5, -0.25, 0.25),
            (LossAggregation.ConstantNormalizer, -0.2, -0.1, 0.1),
            (LossAggregation.TokenSum, -2, -1, 1),
        ];

        foreach (var e in expected)
        {
            var options = new PolicyLossOptions { Aggregation = e.Aggregation, MaxCompletionLength = 5 };
            var (loss, stats, grad) = LossTestData.RunKernel(inputs, options, kernel);
            loss.Should().BeApproximately(e.Loss, Tolerance, e.Aggregation.ToString());
            AssertGrad(grad, new double[,] { { e.Row0, e.Row0, e.Row0 }, { e.Row1, 0, 0 } });
            stats.MeanRatio.Should().Be(1);
            stats.TokenCount.Should().Be(4);
        }
    }

    [Theory]
    [MemberData(nameof(KernelData))]
    public void A_fully_masked_row_counts_in_the_sequence_mean_but_adds_nothing(string kernel)
    {
        // Row 0: A = 1, two valid tokens, l = −1 each → token mean −1; row 1 fully masked (its A = 5 is irrelevant) → 0.
        // sequence-mean: (−1 + 0)/2 = −0.5 (TRL's behaviour: B counts every row); grad row 0: −1/(2·2) = −0.25.
        PolicyLossInputs inputs = Inputs(
            logp: new double[,] { { -1, -2 }, { Nan, Nan } }, logRatio: null, refMinusLogp: null, advantages: [1, 5],
            mask: new bool[,] { { true, true }, { false, false } });

        var (loss, stats, grad) = LossTestData.RunKernel(inputs, new PolicyLossOptions(), kernel);

        loss.Should().BeApproximately(-0.5, Tolerance);
        AssertGrad(grad, new double[,] { { -0.25, -0.25 }, { 0, 0 } });
        stats.TokenCount.Should().Be(2);
    }

    [Theory]
    [MemberData(nameof(KernelData))]
    public void A_fully_masked_batch_has_zero_loss_zero_gradient_and_zero_statistics(string kernel)
    {
        PolicyLossInputs inputs = Inputs(
            logp: new double[,] { { Nan, -1 }, { double.NegativeInfinity, -2 } }, logRatio: new double[,] { { 0.3, -0.3 }, { 1, 2 } },
            refMinusLogp: new double[,] { { 1, 1 }, { 1, 1 } }, advantages: [1, -1], mask: new bool[,] { { false, false }, { false, false } });
        var options = new PolicyLossOptions { Beta = 0.1, Aggregation = LossAggregation.TokenMean, DualClip = 3 };

        var (loss, stats, grad) = LossTestData.RunKernel(inputs, options, kernel);

        loss.Should().Be(0);
        AssertGrad(grad, new double[,] { { 0, 0 }, { 0, 0 } });
        stats.Should().Be(new PolicyLossStatistics(0, 0, 0, 0, 0, 0, 0));
    }

    /// <summary>Builds float64 inputs: old = logp − logRatio (null → on-policy), ref = logp + refMinusLogp (null → none).</summary>
    private static PolicyLossInputs Inputs(double[,] logp, double[,]? logRatio, double[,]? refMinusLogp, double[] advantages, bool[,] mask)
    {
        int b = logp.GetLength(0);
        int t = logp.GetLength(1);
        double[] Flat(Func<int, int, double> f) => Enumerable.Range(0, b * t).Select(i => f(i / t, i % t)).ToArray();
        Tensor Make(double[] values) => tensor(values).reshape(b, t);
        return new PolicyLossInputs
        {
            LogProbs = Make(Flat((i, j) => logp[i, j])).requires_grad_(),
            Advantages = tensor(advantages),
            Mask = tensor(Enumerable.Range(0, b * t).Select(i => mask[i / t, i % t]).ToArray()).reshape(b, t),
            OldLogProbs = logRatio is null ? null : Make(Flat((i, j) => logp[i, j] - logRatio[i, j])),
            ReferenceLogProbs = refMinusLogp is null ? null : Make(Flat((i, j) => logp[i, j] + refMinusLogp[i, j])),
        };
    }

    private static void AssertGrad(Tensor grad, double[,] expected)
    {
        int b = expected.GetLength(0);
        int t = expected.GetLength(1);
        grad.shape.Should().Equal(b, t);
        double[] actual = grad.to(ScalarType.Float64).cpu().data<double>().ToArray();
        for (int i = 0; i < b * t; i++)
        {
            actual[i].Should().BeApproximately(expected[i / t, i % t], Tolerance, $"gradient at [{i / t}, {i % t}]");
        }
    }
}
