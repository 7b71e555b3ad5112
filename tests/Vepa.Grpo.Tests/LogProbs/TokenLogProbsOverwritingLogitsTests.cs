using TorchSharp;
using static TorchSharp.torch;
using static Vepa.Grpo.Tests.LogProbs.LogProbReference;

namespace Vepa.Grpo.Tests.LogProbs;

public sealed class TokenLogProbsOverwritingLogitsTests
{
    public static TheoryData<int, int, int, int?, double> Shapes => TokenLogProbsFromLogitsTests.Shapes;

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Float64_values_and_gradients_match_the_reference_and_the_logits_end_up_holding_their_gradient(int b, int t, int v, int? chunk, double temperature)
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(4321UL + (ulong)(b * 1000 + t * 100 + v), CPU);
        var head = Normal(generator, [b, t, v], scale: 3.0).requires_grad_(true);
        var logits = head.mul(1.0); // an intermediate, as an LM head's output is
        var original = logits.detach().clone();
        var targets = Ids(generator, b, t, v);
        var upstream = Normal(generator, [b, t]);

        var logProbs = TokenLogProbs.FromLogitsOverwritingLogits(logits, targets, temperature, chunk);
        (logProbs * upstream).sum().backward();
        var expected = FromLogits(original, targets, upstream, temperature);

        RelativeError(logProbs, expected.LogProbs).Should().BeLessThan(1e-10);
        RelativeError(head.grad!, expected.Grad).Should().BeLessThan(1e-10, "d logits / d head is the identity");
        RelativeError(logits.detach(), expected.Grad).Should().BeLessThan(1e-10, "backward wrote the gradient into the logits' storage");
    }

    [Fact]
    public void Float32_matches_the_float64_reference_within_1e_5()
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(77UL, CPU);
        var head = Normal(generator, [3, 9, 500], ScalarType.Float32, scale: 3.0).requires_grad_(true);
        var logits = head.mul(1.0f);
        var original = logits.detach().clone();
        var targets = Ids(generator, 3, 9, 500);
        var upstream = Normal(generator, [3, 9], ScalarType.Float32);

        var logProbs = TokenLogProbs.FromLogitsOverwritingLogits(logits, targets, 0.9, 4);
        (logProbs * upstream).sum().backward();
        var expected = FromLogits(original, targets, upstream, 0.9);

        RelativeError(logProbs, expected.LogProbs).Should().BeLessThan(1e-5);
        RelativeError(head.grad!, expected.Grad).Should().BeLessThan(1e-5);
    }

    [Fact]
    public void A_sliced_view_is_overwritten_only_where_it_reads_and_the_gradient_reaches_the_full_tensor()
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(8UL, CPU);
        var full = Normal(generator, [3, 6, 29], scale: 2.0).requires_grad_(true);
        var scaled = full.mul(1.0);
        var lastPosition = scaled.narrow(1, 5, 1).detach().clone();
        var logits = scaled.narrow(1, 0, 5); // logits[:, :-1, :]
        var original = logits.detach().clone();
        var targets = Ids(generator, 3, 5, 29);
        var upstream = Normal(generator, [3, 5]);

        var logProbs = TokenLogProbs.FromLogitsOverwritingLogits(logits, targets, 1.1, 3);
        (logProbs * upstream).sum().backward();
        var expected = FromLogits(original, targets, upstream, 1.1);

        RelativeError(logProbs, expected.LogProbs).Should().BeLessThan(1e-10);
        RelativeError(full.grad!.narrow(1, 0, 5), expected.Grad).Should().BeLessThan(1e-10);
        full.grad!.narrow(1, 5, 1).abs().max().item<double>().Should().Be(0.0);
        scaled.narrow(1, 5, 1).detach().eq(lastPosition).all().item<bool>().Should().BeTrue("positions outside the view are not touched");
    }

    [Theory]
    [InlineData(ScalarType.BFloat16, 1e-2)]
    [InlineData(ScalarType.Float16, 2e-3)]
    public void Low_precision_logits_receive_their_gradient_rounded_to_their_dtype(ScalarType dtype, double gradTolerance)
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(22UL, CPU);
        var head = Normal(generator, [2, 7, 300], dtype, scale: 3.0).requires_grad_(true);
        var logits = head.mul(1.0);
        var original = logits.detach().clone();
        var targets = Ids(generator, 2, 7, 300);
        var upstream = Normal(generator, [2, 7], ScalarType.Float32);

        var logProbs = TokenLogProbs.FromLogitsOverwritingLogits(logits, targets, 0.8, 4);
        (logProbs * upstream).sum().backward();
        var expected = FromLogits(original, targets, upstream, 0.8);

        logProbs.dtype.Should().Be(ScalarType.Float32);
        head.grad!.dtype.Should().Be(dtype);
        RelativeError(logProbs, expected.LogProbs).Should().BeLessThan(1e-5);
        RelativeError(head.grad!, expected.Grad).Should().BeLessThan(gradTolerance);
    }

    [Fact]
    public void Without_backward_the_logits_are_left_intact()
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(9UL, CPU);
        var logits = Normal(generator, [2, 4, 31]).requires_grad_(true);
        var original = logits.detach().clone();
        var targets = Ids(generator, 2, 4, 31);

        var withGraph = TokenLogProbs.FromLogitsOverwritingLogits(logits, targets, 1.0, 3);
        Tensor underNoGrad;
        using (no_grad())
        {
            underNoGrad = TokenLogProbs.FromLogitsOverwritingLogits(logits, targets, 1.0, 3);
        }

        logits.detach().eq(original).all().item<bool>().Should().BeTrue();
        withGraph.detach().eq(underNoGrad).all().item<bool>().Should().BeTrue();
        underNoGrad.requires_grad.Should().BeFalse();
    }
}
