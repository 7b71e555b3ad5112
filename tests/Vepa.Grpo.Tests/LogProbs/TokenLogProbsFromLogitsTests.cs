using TorchSharp;
using static TorchSharp.torch;
using static Vepa.Grpo.Tests.LogProbs.LogProbReference;

namespace Vepa.Grpo.Tests.LogProbs;

public sealed class TokenLogProbsFromLogitsTests
{
    public static TheoryData<int, int, int, int?, double> Shapes => new()
    {
        // B, T, V, chunk rows, temperature
        { 2, 5, 37, null, 1.0 },   // default chunk (>= rows)
        { 3, 4, 50, 5, 0.7 },      // 5 does not divide 12 rows
        { 1, 1, 11, null, 1.3 },   // B = T = 1
        { 2, 3, 40, 1, 1.0 },      // one row per chunk
        { 2, 3, 40, 100, 2.0 },    // chunk >= rows
        { 4, 6, 1000, 7, 0.9 },    // V = 1000
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Float64_log_probs_and_gradients_match_the_plain_float64_reference(int b, int t, int v, int? chunk, double temperature)
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(1234UL + (ulong)(b * 1000 + t * 100 + v), CPU);
        var logits = Normal(generator, [b, t, v], scale: 3.0).requires_grad_(true);
        var targets = Ids(generator, b, t, v);
        var upstream = Normal(generator, [b, t]);

        var logProbs = TokenLogProbs.FromLogits(logits, targets, temperature, chunk);
        (logProbs * upstream).sum().backward();
        var expected = FromLogits(logits, targets, upstream, temperature);

        logProbs.dtype.Should().Be(ScalarType.Float64);
        logProbs.shape.Should().Equal(b, t);
        RelativeError(logProbs, expected.LogProbs).Should().BeLessThan(1e-10);
        RelativeError(logits.grad!, expected.Grad).Should().BeLessThan(1e-10);
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Float32_log_probs_and_gradients_match_the_float64_reference_within_1e_5(int b, int t, int v, int? chunk, double temperature)
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(99UL + (ulong)(b * 1000 + t * 100 + v), CPU);
        var logits = Normal(generator, [b, t, v], ScalarType.Float32, scale: 3.0).requires_grad_(true);
        var targets = Ids(generator, b, t, v);
        var upstream = Normal(generator, [b, t], ScalarType.Float32);

        var logProbs = TokenLogProbs.FromLogits(logits, targets, temperature, chunk);
        (logProbs * upstream).sum().backward();
        var expected = FromLogits(logits, targets, upstream, temperature);

        logProbs.dtype.Should().Be(ScalarType.Float32);
        logits.grad!.dtype.Should().Be(ScalarType.Float32);
        RelativeError(logProbs, expected.LogProbs).Should().BeLessThan(1e-5);
        RelativeError(logits.grad!, expected.Grad).Should().BeLessThan(1e-5);
    }

    [Theory]
    [InlineData(null)]
    [InlineData(3)]
    [InlineData(7)]
    public void A_sliced_non_contiguous_logits_tensor_gives_the_reference_values_and_gradients(int? chunk)
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(7UL, CPU);
        var full = Normal(generator, [3, 6, 29], scale: 2.0).requires_grad_(true);
        var logits = full.narrow(1, 0, 5); // logits[:, :-1, :]: rows of different sequences are not evenly spaced
        var targets = Ids(generator, 3, 5, 29);
        var upstream = Normal(generator, [3, 5]);

        var logProbs = TokenLogProbs.FromLogits(logits, targets, 1.1, chunk);
        (logProbs * upstream).sum().backward();
        var expected = FromLogits(logits, targets, upstream, 1.1);

        logits.is_contiguous().Should().BeFalse();
        RelativeError(logProbs, expected.LogProbs).Should().BeLessThan(1e-10);
        RelativeError(full.grad!.narrow(1, 0, 5), expected.Grad).Should().BeLessThan(1e-10);
        full.grad!.narrow(1, 5, 1).abs().max().item<double>().Should().Be(0.0);
    }

    [Fact]
    public void Int32_targets_give_the_same_result_as_int64_targets()
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(5UL, CPU);
        var logits = Normal(generator, [2, 4, 17]);
        var targets = Ids(generator, 2, 4, 17);

        var fromInt64 = TokenLogProbs.FromLogits(logits, targets);
        var fromInt32 = TokenLogProbs.FromLogits(logits, targets.to(ScalarType.Int32));

        RelativeError(fromInt32, fromInt64).Should().Be(0.0);
    }

    [Theory]
    [InlineData(ScalarType.Float64, 1.0, null, 1e-10)]
    [InlineData(ScalarType.Float64, 0.6, 2, 1e-10)]
    [InlineData(ScalarType.Float32, 1.4, 3, 1e-5)]
    public void Entropy_matches_the_reference_and_the_log_probs_are_unchanged(ScalarType dtype, double temperature, int? chunk, double tolerance)
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(11UL, CPU);
        var logits = Normal(generator, [2, 5, 64], dtype, scale: 2.5).requires_grad_(true);
        var targets = Ids(generator, 2, 5, 64);
        var upstream = Normal(generator, [2, 5], dtype);

        var logProbs = TokenLogProbs.FromLogits(logits, targets, out var entropy, temperature, chunk);
        (logProbs * upstream).sum().backward();
        var expected = FromLogits(logits, targets, upstream, temperature);

        entropy.requires_grad.Should().BeFalse("without entropyGradient the entropy carries no gradient");
        entropy.dtype.Should().Be(dtype);
        RelativeError(entropy, expected.Entropy).Should().BeLessThan(tolerance);
        RelativeError(logProbs, expected.LogProbs).Should().BeLessThan(tolerance);
        RelativeError(logits.grad!, expected.Grad).Should().BeLessThan(tolerance);
    }

    // Low precision: the reference runs in float64 on the same (rounded) input values, so the log-probs and entropy
    // (computed in float32) agree to float32 accuracy; the gradient is rounded to the input dtype on return, so it agrees
    // to that dtype's relative precision (bf16: 2^-8 ≈ 3.9e-3, fp16: 2^-11 ≈ 4.9e-4), tolerances 1e-2 and 2e-3.
    [Theory]
    [InlineData(ScalarType.BFloat16, 1e-2)]
    [InlineData(ScalarType.Float16, 2e-3)]
    public void Low_precision_logits_are_computed_in_float32_and_the_gradient_returns_in_their_dtype(ScalarType dtype, double gradTolerance)
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(21UL, CPU);
        var logits = Normal(generator, [3, 7, 300], dtype, scale: 3.0).requires_grad_(true);
        var targets = Ids(generator, 3, 7, 300);
        var upstream = Normal(generator, [3, 7], ScalarType.Float32);

        var logProbs = TokenLogProbs.FromLogits(logits, targets, out var entropy, 0.8, 4);
        (logProbs * upstream).sum().backward();
        var expected = FromLogits(logits, targets, upstream, 0.8);

        logProbs.dtype.Should().Be(ScalarType.Float32);
        entropy.dtype.Should().Be(ScalarType.Float32);
        logits.grad!.dtype.Should().Be(dtype);
        RelativeError(logProbs, expected.LogProbs).Should().BeLessThan(1e-5);
        RelativeError(entropy, expected.Entropy).Should().BeLessThan(1e-5);
        RelativeError(logits.grad!, expected.Grad).Should().BeLessThan(gradTolerance);
    }

    [Fact]
    public void Gradient_matches_central_finite_differences_in_float64()
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(3UL, CPU);
        const double temperature = 0.8;
        var logits = Normal(generator, [2, 3, 5]).requires_grad_(true);
        var targets = Ids(generator, 2, 3, 5);
        var upstream = Normal(generator, [2, 3]);

        (TokenLogProbs.FromLogits(logits, targets, temperature, 2) * upstream).sum().backward();
        var analytic = logits.grad!.detach().clone();

        var numeric = zeros_like(analytic);
        const double step = 1e-6;
        var flat = logits.detach().clone().reshape(-1);
        for (long i = 0; i < flat.shape[0]; i++)
        {
            double original = flat[i].item<double>();
            flat[i] = original + step;
            double plus = Objective(flat.reshape(2, 3, 5));
            flat[i] = original - step;
            double minus = Objective(flat.reshape(2, 3, 5));
            flat[i] = original;
            numeric.reshape(-1)[i] = (plus - minus) / (2 * step);
        }

        (analytic - numeric).abs().max().item<double>().Should().BeLessThan(1e-8);
        analytic.abs().max().item<double>().Should().BeGreaterThan(1e-2);

        double Objective(Tensor x)
        {
            using var inner = NewDisposeScope();
            using var noGrad = no_grad();
            return (TokenLogProbs.FromLogits(x, targets, temperature, 2) * upstream).sum().item<double>();
        }
    }

    [Fact]
    public void NaN_and_positive_infinity_poison_only_their_row_and_negative_infinity_has_probability_zero()
    {
        using var scope = NewDisposeScope();
        const int v = 6;
        var values = new double[,]
        {
            { 0.5, -1.0, 2.0, 0.0, 1.0, -0.5 },                                  // 0: finite
            { 0.5, double.NaN, 2.0, 0.0, 1.0, -0.5 },                            // 1: NaN
            { 0.5, double.PositiveInfinity, 2.0, 0.0, 1.0, -0.5 },               // 2: +inf
            { 0.5, double.NegativeInfinity, 2.0, 0.0, 1.0, -0.5 },               // 3: -inf off the target
            { double.NegativeInfinity, -1.0, 2.0, 0.0, 1.0, -0.5 },              // 4: -inf at the target
            { double.NegativeInfinity, double.NegativeInfinity, double.NegativeInfinity,
              double.NegativeInfinity, double.NegativeInfinity, double.NegativeInfinity }, // 5: all -inf
        };
        var logits = tensor(values).reshape(1, 6, v).requires_grad_(true);
        var targets = tensor(new long[] { 2, 2, 2, 2, 0, 0 }).reshape(1, 6);

        var logProbs = TokenLogProbs.FromLogits(logits, targets, out var entropy, 1.0, 4);
        logProbs.sum().backward();
        var lp = logProbs.reshape(-1).data<double>().ToArray();
        var h = entropy.reshape(-1).data<double>().ToArray();
        var grad = logits.grad!.reshape(6, v);

        // Hand-computed reference for the finite rows: log p = z_t − log Σ exp z.
        double Lse(params double[] z) => Math.Log(z.Sum(Math.Exp));
        lp[0].Should().BeApproximately(2.0 - Lse(0.5, -1.0, 2.0, 0.0, 1.0, -0.5), 1e-12);
        double.IsNaN(lp[1]).Should().BeTrue();
        double.IsNaN(lp[2]).Should().BeTrue();
        lp[3].Should().BeApproximately(2.0 - Lse(0.5, 2.0, 0.0, 1.0, -0.5), 1e-12);
        double.IsNegativeInfinity(lp[4]).Should().BeTrue();
        double.IsNaN(lp[5]).Should().BeTrue();

        double.IsFinite(h[0]).Should().BeTrue();
        double.IsNaN(h[1]).Should().BeTrue();
        double.IsNaN(h[2]).Should().BeTrue();
        double.IsFinite(h[3]).Should().BeTrue();
        double.IsFinite(h[4]).Should().BeTrue();
        double.IsNaN(h[5]).Should().BeTrue();

        // Gradient rows: NaN where the log-prob is NaN; row 3 has 0 at the −∞ entry and sums to 0.
        grad[1].isnan().all().item<bool>().Should().BeTrue();
        grad[2].isnan().all().item<bool>().Should().BeTrue();
        grad[5].isnan().all().item<bool>().Should().BeTrue();
        grad[0].isfinite().all().item<bool>().Should().BeTrue();
        grad[3][1].item<double>().Should().Be(0.0);
        grad[3].sum().item<double>().Should().BeApproximately(0.0, 1e-12);
        grad[4].isfinite().all().item<bool>().Should().BeTrue();
    }

    [Fact]
    public void Under_no_grad_the_result_carries_no_gradient()
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(8UL, CPU);
        var logits = Normal(generator, [2, 3, 13]).requires_grad_(true);
        var targets = Ids(generator, 2, 3, 13);

        Tensor logProbs;
        using (no_grad())
        {
            logProbs = TokenLogProbs.FromLogits(logits, targets);
        }

        logProbs.requires_grad.Should().BeFalse();
        RelativeError(logProbs, FromLogits(logits, targets, ones(2, 3), 1.0).LogProbs).Should().BeLessThan(1e-10);
    }

    [Fact]
    public void Empty_batch_gives_an_empty_result()
    {
        using var scope = NewDisposeScope();
        var logProbs = TokenLogProbs.FromLogits(zeros(0, 4, 10), zeros(new long[] { 0, 4 }, ScalarType.Int64));

        logProbs.shape.Should().Equal(0, 4);
    }
}
