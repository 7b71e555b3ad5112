using TorchSharp;
using static TorchSharp.torch;
using static Vepa.Grpo.Tests.LogProbs.LogProbReference;

namespace Vepa.Grpo.Tests.LogProbs;

/// <summary>
/// The entropy the log-prob kernels return is differentiable: dH/dz_j = −p_j (log p_j + H) / τ is added in backward. Checked
/// against float64 plain ops (log_softmax of double logits, differentiated by autograd) and float64 finite differences.
/// </summary>
public sealed class TokenLogProbsEntropyGradientTests
{
    [Theory]
    [InlineData(ScalarType.Float64, 1.0, null, 1e-11)]
    [InlineData(ScalarType.Float64, 0.7, 3, 1e-11)]
    [InlineData(ScalarType.Float32, 1.3, 4, 2e-5)]
    public void Gradient_of_log_probs_and_entropy_from_logits_matches_plain_float64_ops(ScalarType dtype, double temperature, int? chunk, double tolerance)
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(71UL, CPU);
        var logits = Normal(generator, [3, 5, 23], dtype, scale: 2.0).requires_grad_(true);
        var targets = Ids(generator, 3, 5, 23);
        var a = Normal(generator, [3, 5]);
        var c = Normal(generator, [3, 5]);

        var logProbs = TokenLogProbs.FromLogits(logits, targets, out var entropy, temperature, chunk, entropyGradient: true);
        ((logProbs.to(ScalarType.Float64) * a).sum() + (entropy.to(ScalarType.Float64) * c).sum()).backward();

        var expected = PlainGradient(logits, targets, a, c, temperature);
        RelativeError(logits.grad!, expected).Should().BeLessThan(tolerance);
    }

    [Fact]
    public void Gradient_of_the_entropy_alone_matches_finite_differences_in_float64()
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(72UL, CPU);
        var logits = Normal(generator, [2, 3, 7], scale: 1.5);
        var targets = Ids(generator, 2, 3, 7);
        var c = Normal(generator, [2, 3]);
        const double temperature = 0.8;

        var leaf = logits.clone().requires_grad_(true);
        TokenLogProbs.FromLogits(leaf, targets, out var entropy, temperature, chunkSize: 2, entropyGradient: true);
        (entropy * c).sum().backward();
        var grad = leaf.grad!.reshape(-1);

        double Objective(Tensor z)
        {
            using var inner = NewDisposeScope();
            using var noGrad = no_grad();
            var ls = (z / temperature).log_softmax(-1);
            return ((-(ls.exp() * ls).sum(-1)) * c).sum().item<double>();
        }

        const double step = 1e-6;
        var flat = logits.reshape(-1);
        for (long i = 0; i < flat.shape[0]; i += 5)
        {
            var plus = flat.clone();
            plus[i] = plus[i] + step;
            var minus = flat.clone();
            minus[i] = minus[i] - step;
            double numeric = (Objective(plus.reshape(logits.shape)) - Objective(minus.reshape(logits.shape))) / (2 * step);
            grad[i].item<double>().Should().BeApproximately(numeric, 1e-8, $"logit {i}");
        }
    }

    [Fact]
    public void Gradient_of_log_probs_and_entropy_from_hidden_states_matches_plain_float64_ops()
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(73UL, CPU);
        var hidden = Normal(generator, [2, 4, 6]).requires_grad_(true);
        var weight = Normal(generator, [19, 6], scale: 0.7).requires_grad_(true);
        var bias = Normal(generator, [19], scale: 0.3).requires_grad_(true);
        var targets = Ids(generator, 2, 4, 19);
        var a = Normal(generator, [2, 4]);
        var c = Normal(generator, [2, 4]);

        var logProbs = TokenLogProbs.FromHiddenStates(hidden, weight, targets, out var entropy, bias, 0.9, 3, entropyGradient: true);
        ((logProbs * a).sum() + (entropy * c).sum()).backward();

        var h = hidden.detach().clone().requires_grad_(true);
        var w = weight.detach().clone().requires_grad_(true);
        var b = bias.detach().clone().requires_grad_(true);
        var ls = ((h.matmul(w.t()) + b) / 0.9).log_softmax(-1);
        var lp = ls.gather(-1, targets.unsqueeze(-1)).squeeze(-1);
        var ent = -(ls.exp() * ls).sum(-1);
        ((lp * a).sum() + (ent * c).sum()).backward();

        RelativeError(hidden.grad!, h.grad!).Should().BeLessThan(1e-11);
        RelativeError(weight.grad!, w.grad!).Should().BeLessThan(1e-11);
        RelativeError(bias.grad!, b.grad!).Should().BeLessThan(1e-11);
    }

    [Fact]
    public void A_differentiable_entropy_that_does_not_reach_the_loss_leaves_the_log_prob_gradient_bit_for_bit_unchanged()
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(74UL, CPU);
        var logits = Normal(generator, [2, 6, 31], ScalarType.Float32, scale: 2.0);
        var targets = Ids(generator, 2, 6, 31);
        var a = Normal(generator, [2, 6], ScalarType.Float32);

        var with = logits.clone().requires_grad_(true);
        (TokenLogProbs.FromLogits(with, targets, out var entropy, 1.1, 5, entropyGradient: true) * a).sum().backward();
        entropy.requires_grad.Should().BeTrue();
        var without = logits.clone().requires_grad_(true);
        (TokenLogProbs.FromLogits(without, targets, 1.1, 5) * a).sum().backward();

        with.grad!.eq(without.grad!).all().item<bool>().Should().BeTrue();
    }

    [Fact]
    public void A_minus_infinity_logit_gets_a_zero_entropy_gradient_and_a_nan_row_stays_nan()
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(75UL, CPU);
        var logits = Normal(generator, [1, 3, 9]);
        logits[0, 0, 4] = tensor(double.NegativeInfinity);
        logits[0, 2, 1] = tensor(double.NaN);
        var leaf = logits.requires_grad_(true);
        var targets = tensor(new long[] { 0, 1, 2 }).reshape(1, 3);

        TokenLogProbs.FromLogits(leaf, targets, out var entropy, 1.0, 1, entropyGradient: true);
        entropy.sum().backward();
        var grad = leaf.grad!;

        grad[0, 0, 4].item<double>().Should().Be(0.0);
        grad[0, 0].isfinite().all().item<bool>().Should().BeTrue();
        grad[0, 1].isfinite().all().item<bool>().Should().BeTrue();
        grad[0, 2].isnan().all().item<bool>().Should().BeTrue();

        // The finite entries of the −∞ row match plain ops on the row without that entry (it has probability 0).
        static Tensor WithoutFifth(Tensor r) => cat([r.narrow(0, 0, 4), r.narrow(0, 5, 4)]);
        var row = WithoutFifth(logits[0, 0].detach()).clone().requires_grad_(true);
        var ls = row.log_softmax(-1);
        (-(ls.exp() * ls).sum()).backward();
        RelativeError(WithoutFifth(grad[0, 0]), row.grad!).Should().BeLessThan(1e-12);
    }

    /// <summary>d(Σ a·log p(target) + Σ c·H)/dlogits by float64 plain ops and autograd.</summary>
    private static Tensor PlainGradient(Tensor logits, Tensor targets, Tensor a, Tensor c, double temperature)
    {
        var x = logits.detach().to(ScalarType.Float64).requires_grad_(true);
        var ls = (x / temperature).log_softmax(-1);
        var lp = ls.gather(-1, targets.unsqueeze(-1)).squeeze(-1);
        var entropy = -(ls.exp() * ls).sum(-1);
        ((lp * a).sum() + (entropy * c).sum()).backward();
        return x.grad!;
    }
}
