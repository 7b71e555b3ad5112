using TorchSharp;
using static TorchSharp.torch;
using static Vepa.Grpo.Tests.LogProbs.LogProbReference;

namespace Vepa.Grpo.Tests.LogProbs;

public sealed class TokenLogProbsShiftTests
{
    [Theory]
    [InlineData(3, 6, 29, null)]
    [InlineData(2, 5, 17, 2)]
    [InlineData(1, 4, 11, 3)]
    public void Shifted_full_logits_match_the_reference_on_the_slice_and_the_last_position_gets_no_gradient(int b, int t, int v, int? chunk)
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(600UL + (ulong)(b * t * v), CPU);
        var full = Normal(generator, [b, t + 1, v], scale: 2.0).requires_grad_();
        var targets = Ids(generator, b, t, v);
        var upstream = Normal(generator, [b, t]);

        var logProbs = TokenLogProbs.FromLogits(full, targets, 0.8, chunk, shift: true);
        (logProbs * upstream).sum().backward();
        var expected = FromLogits(full.detach().narrow(1, 0, t), targets, upstream, 0.8);

        RelativeError(logProbs, expected.LogProbs).Should().BeLessThan(1e-12);
        RelativeError(full.grad!.narrow(1, 0, t), expected.Grad).Should().BeLessThan(1e-12);
        full.grad!.narrow(1, t, 1).count_nonzero().item<long>().Should().Be(0);
    }

    [Theory]
    [InlineData(3, 6, 29, null)]
    [InlineData(2, 5, 17, 2)]
    public void The_overwriting_variant_with_shift_writes_the_whole_gradient_into_the_full_logits(int b, int t, int v, int? chunk)
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(700UL + (ulong)(b * t * v), CPU);
        var head = Normal(generator, [b, t + 1, v], scale: 2.0).requires_grad_();
        var logits = head.mul(1.0); // the model's full output, an intermediate
        var original = logits.detach().clone();
        var targets = Ids(generator, b, t, v);
        var upstream = Normal(generator, [b, t]);

        var logProbs = TokenLogProbs.FromLogitsOverwritingLogits(logits, targets, 1.0, chunk, shift: true);
        (logProbs * upstream).sum().backward();
        var expected = FromLogits(original.narrow(1, 0, t), targets, upstream, 1.0);

        RelativeError(logProbs, expected.LogProbs).Should().BeLessThan(1e-12);
        RelativeError(head.grad!.narrow(1, 0, t), expected.Grad).Should().BeLessThan(1e-12);
        head.grad!.narrow(1, t, 1).count_nonzero().item<long>().Should().Be(0);
        RelativeError(logits.detach().narrow(1, 0, t), expected.Grad).Should().BeLessThan(1e-12, "backward wrote the gradient into the logits' own storage");
        logits.detach().narrow(1, t, 1).count_nonzero().item<long>().Should().Be(0, "the ignored position's storage holds its zero gradient");
    }

    [Fact]
    public void Shifted_hidden_states_match_the_reference_on_the_slice()
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(800UL, CPU);
        const int b = 3, t = 5, h = 4, v = 13;
        var hidden = Normal(generator, [b, t + 1, h]).requires_grad_();
        var weight = Normal(generator, [v, h]).requires_grad_();
        var bias = Normal(generator, [v], scale: 0.3).requires_grad_();
        var targets = Ids(generator, b, t, v);
        var upstream = Normal(generator, [b, t]);

        var logProbs = TokenLogProbs.FromHiddenStates(hidden, weight, targets, bias, 1.0, 4, shift: true);
        (logProbs * upstream).sum().backward();
        var expected = FromHiddenStates(hidden.detach().narrow(1, 0, t), weight, bias, targets, upstream, 1.0);

        RelativeError(logProbs, expected.LogProbs).Should().BeLessThan(1e-12);
        RelativeError(hidden.grad!.narrow(1, 0, t), expected.GradHidden).Should().BeLessThan(1e-12);
        hidden.grad!.narrow(1, t, 1).count_nonzero().item<long>().Should().Be(0);
        RelativeError(weight.grad!, expected.GradWeight).Should().BeLessThan(1e-12);
    }

    [Fact]
    public void With_shift_the_targets_must_have_one_position_fewer()
    {
        using var scope = NewDisposeScope();
        var logits = zeros(2, 5, 7);
        var act = () => TokenLogProbs.FromLogits(logits, zeros(2, 5, ScalarType.Int64), shift: true);
        act.Should().Throw<ArgumentException>().Which.Message.Should().StartWith(
            "targets must have shape [B, T] = [2, 4] (logits' first dimension and its positions minus one, since shift is true (logits [2, 5, 7])); got [2, 5].");
    }
}
