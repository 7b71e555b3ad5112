using TorchSharp;
using static TorchSharp.torch;
using static Vepa.Grpo.Tests.LogProbs.LogProbReference;

namespace Vepa.Grpo.Tests.LogProbs;

public sealed class TokenLogProbsFromHiddenStatesTests
{
    public static TheoryData<int, int, int, int, int?, double, bool> Shapes => new()
    {
        // B, T, H, V, chunk rows, temperature, bias
        { 2, 5, 16, 37, null, 1.0, false },
        { 3, 4, 8, 50, 5, 0.7, true },      // 5 does not divide 12 rows
        { 1, 1, 4, 11, null, 1.3, true },   // B = T = 1
        { 2, 3, 12, 40, 1, 1.0, false },    // one row per chunk
        { 2, 3, 12, 40, 100, 2.0, true },   // chunk >= rows
        { 2, 8, 32, 1000, 3, 0.9, true },   // V = 1000
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Float64_log_probs_and_all_gradients_match_the_plain_float64_reference(
        int b, int t, int hiddenSize, int v, int? chunk, double temperature, bool withBias)
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(4321UL + (ulong)(b * 1000 + t * 100 + v), CPU);
        var (hidden, weight, bias, targets, upstream) = Inputs(generator, b, t, hiddenSize, v, withBias, ScalarType.Float64);

        var logProbs = TokenLogProbs.FromHiddenStates(hidden, weight, targets, bias, temperature, chunk);
        (logProbs * upstream).sum().backward();
        var expected = FromHiddenStates(hidden, weight, bias, targets, upstream, temperature);

        logProbs.dtype.Should().Be(ScalarType.Float64);
        logProbs.shape.Should().Equal(b, t);
        RelativeError(logProbs, expected.LogProbs).Should().BeLessThan(1e-10);
        RelativeError(hidden.grad!, expected.GradHidden).Should().BeLessThan(1e-10);
        RelativeError(weight.grad!, expected.GradWeight).Should().BeLessThan(1e-10);
        if (withBias)
        {
            RelativeError(bias!.grad!, expected.GradBias!).Should().BeLessThan(1e-10);
        }
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Float32_log_probs_and_all_gradients_match_the_float64_reference_within_1e_5(
        int b, int t, int hiddenSize, int v, int? chunk, double temperature, bool withBias)
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(77UL + (ulong)(b * 1000 + t * 100 + v), CPU);
        var (hidden, weight, bias, targets, upstream) = Inputs(generator, b, t, hiddenSize, v, withBias, ScalarType.Float32);

        var logProbs = TokenLogProbs.FromHiddenStates(hidden, weight, targets, bias, temperature, chunk);
        (logProbs * upstream).sum().backward();
        var expected = FromHiddenStates(hidden, weight, bias, targets, upstream, temperature);

        logProbs.dtype.Should().Be(ScalarType.Float32);
        weight.grad!.dtype.Should().Be(ScalarType.Float32);
        RelativeError(logProbs, expected.LogProbs).Should().BeLessThan(1e-5);
        RelativeError(hidden.grad!, expected.GradHidden).Should().BeLessThan(1e-5);
        RelativeError(weight.grad!, expected.GradWeight).Should().BeLessThan(1e-5);
        if (withBias)
        {
            RelativeError(bias!.grad!, expected.GradBias!).Should().BeLessThan(1e-5);
        }
    }

    [Fact]
    public void Gradients_of_hidden_weight_and_bias_match_central_finite_differences_in_float64()
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(31UL, CPU);
        const double temperature = 0.75;
        var (hidden, weight, bias, targets, upstream) = Inputs(generator, 2, 2, 3, 5, withBias: true, ScalarType.Float64);

        (TokenLogProbs.FromHiddenStates(hidden, weight, targets, bias, temperature, 3) * upstream).sum().backward();

        var h = hidden.detach().clone();
        var w = weight.detach().clone();
        var b = bias!.detach().clone();
        double Objective()
        {
            using var inner = NewDisposeScope();
            using var noGrad = no_grad();
            return (TokenLogProbs.FromHiddenStates(h, w, targets, b, temperature, 3) * upstream).sum().item<double>();
        }

        foreach (var (value, analytic) in new[] { (h, hidden.grad!), (w, weight.grad!), (b, bias.grad!) })
        {
            var flat = value.view(-1);
            var numeric = zeros(flat.shape[0], ScalarType.Float64);
            const double step = 1e-6;
            for (long i = 0; i < flat.shape[0]; i++)
            {
                double original = flat[i].item<double>();
                flat[i] = original + step;
                double plus = Objective();
                flat[i] = original - step;
                double minus = Objective();
                flat[i] = original;
                numeric[i] = (plus - minus) / (2 * step);
            }

            (analytic.reshape(-1) - numeric).abs().max().item<double>().Should().BeLessThan(1e-8);
            analytic.abs().max().item<double>().Should().BeGreaterThan(1e-2);
        }
    }

    [Fact]
    public void A_frozen_weight_gets_no_gradient_and_hidden_still_gets_the_exact_one()
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(41UL, CPU);
        var (hidden, weight, _, targets, upstream) = Inputs(generator, 2, 3, 8, 21, withBias: false, ScalarType.Float64);
        weight.requires_grad_(false);

        (TokenLogProbs.FromHiddenStates(hidden, weight, targets, null, 1.0, 2) * upstream).sum().backward();
        var expected = FromHiddenStates(hidden, weight, null, targets, upstream, 1.0);

        weight.grad.Should().BeNull();
        RelativeError(hidden.grad!, expected.GradHidden).Should().BeLessThan(1e-10);
    }

    [Fact]
    public void A_sliced_hidden_tensor_and_int32_targets_give_the_reference_result()
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(51UL, CPU);
        var full = Normal(generator, [3, 6, 8]).requires_grad_(true);
        var hidden = full.narrow(1, 0, 5);
        var weight = Normal(generator, [23, 8]).requires_grad_(true);
        var targets = Ids(generator, 3, 5, 23, ScalarType.Int32);
        var upstream = Normal(generator, [3, 5]);

        (TokenLogProbs.FromHiddenStates(hidden, weight, targets, chunkSize: 4) * upstream).sum().backward();
        var expected = FromHiddenStates(hidden, weight, null, targets, upstream, 1.0);

        RelativeError(full.grad!.narrow(1, 0, 5), expected.GradHidden).Should().BeLessThan(1e-10);
        RelativeError(weight.grad!, expected.GradWeight).Should().BeLessThan(1e-10);
    }

    [Fact]
    public void Entropy_matches_the_reference()
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(61UL, CPU);
        var (hidden, weight, bias, targets, upstream) = Inputs(generator, 2, 5, 8, 64, withBias: true, ScalarType.Float64);

        var logProbs = TokenLogProbs.FromHiddenStates(hidden, weight, targets, out var entropy, bias, 1.3, 3);
        var expected = FromHiddenStates(hidden, weight, bias, targets, upstream, 1.3);

        entropy.shape.Should().Equal(2, 5);
        entropy.requires_grad.Should().BeFalse("without entropyGradient the entropy carries no gradient");
        RelativeError(entropy, expected.Entropy).Should().BeLessThan(1e-10);
        RelativeError(logProbs, expected.LogProbs).Should().BeLessThan(1e-10);
    }

    // bf16: each chunk's logits come out of the matmul rounded to bf16 (relative 2^-8, as the model's own LM head would
    // give them); the reference computes the logits in float64 from the same bf16 inputs. With |logits| up to about 10
    // the log-probs differ by up to ~0.1 in the worst entry: tolerance 2e-2 relative to max |log p|. The gradients are
    // bf16 and sums over V (weight: over B·T rows): tolerance 3e-2.
    [Fact]
    public void Bfloat16_inputs_are_close_to_the_float64_reference()
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(71UL, CPU);
        var (hidden, weight, bias, targets, upstream) = Inputs(generator, 2, 6, 32, 300, withBias: true, ScalarType.BFloat16);

        var logProbs = TokenLogProbs.FromHiddenStates(hidden, weight, targets, out var entropy, bias, 1.0, 5);
        (logProbs * upstream).sum().backward();
        var expected = FromHiddenStates(hidden, weight, bias, targets, upstream, 1.0);

        logProbs.dtype.Should().Be(ScalarType.Float32);
        entropy.dtype.Should().Be(ScalarType.Float32);
        hidden.grad!.dtype.Should().Be(ScalarType.BFloat16);
        weight.grad!.dtype.Should().Be(ScalarType.BFloat16);
        bias!.grad!.dtype.Should().Be(ScalarType.BFloat16);
        RelativeError(logProbs, expected.LogProbs).Should().BeLessThan(2e-2);
        RelativeError(entropy, expected.Entropy).Should().BeLessThan(2e-2);
        RelativeError(hidden.grad!, expected.GradHidden).Should().BeLessThan(3e-2);
        RelativeError(weight.grad!, expected.GradWeight).Should().BeLessThan(3e-2);
        RelativeError(bias.grad!, expected.GradBias!).Should().BeLessThan(3e-2);
    }

    [Fact]
    public void Fused_result_equals_the_logits_kernel_on_the_same_logits()
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(81UL, CPU);
        var (hidden, weight, bias, targets, _) = Inputs(generator, 2, 4, 8, 33, withBias: true, ScalarType.Float64);

        var fused = TokenLogProbs.FromHiddenStates(hidden, weight, targets, bias, 0.9, 3);
        var logits = hidden.matmul(weight.t()) + bias!;
        var fromLogits = TokenLogProbs.FromLogits(logits, targets, 0.9, 3);

        RelativeError(fused, fromLogits).Should().BeLessThan(1e-12);
    }

    private static (Tensor Hidden, Tensor Weight, Tensor? Bias, Tensor Targets, Tensor Upstream) Inputs(
        Generator generator, int b, int t, int hiddenSize, int v, bool withBias, ScalarType dtype)
    {
        var hidden = Normal(generator, [b, t, hiddenSize], dtype).requires_grad_(true);
        var weight = Normal(generator, [v, hiddenSize], dtype, scale: 1.0 / Math.Sqrt(hiddenSize) * 2.0).requires_grad_(true);
        var bias = withBias ? Normal(generator, [v], dtype, scale: 0.5).requires_grad_(true) : null;
        var targets = Ids(generator, b, t, v);
        var upstream = Normal(generator, [b, t], dtype == ScalarType.Float64 ? ScalarType.Float64 : ScalarType.Float32);
        return (hidden, weight, bias, targets, upstream);
    }
}
