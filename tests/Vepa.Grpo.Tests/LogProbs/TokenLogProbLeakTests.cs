using TorchSharp;
using static TorchSharp.torch;
using static Vepa.Grpo.Tests.LogProbs.LogProbReference;

namespace Vepa.Grpo.Tests.LogProbs;

[Collection("Sequential")]
public sealed class TokenLogProbLeakTests
{
    [Fact]
    public void Forward_and_backward_of_every_kernel_leave_no_live_tensors_over_100_calls()
    {
        using var inputs = NewDisposeScope();
        using var generator = new Generator(17UL, CPU);
        var logits = Normal(generator, [2, 5, 40]).requires_grad_(true);
        var hidden = Normal(generator, [2, 5, 8]).requires_grad_(true);
        var weight = Normal(generator, [40, 8]).requires_grad_(true);
        var bias = Normal(generator, [40]).requires_grad_(true);
        var targets = Ids(generator, 2, 5, 40);

        // Finalise earlier garbage, then one warm-up call so that lazily created state (the leaves' .grad tensors) is not
        // counted. No collection during the measurement: every tensor must be released deterministically, not by the GC.
        CollectGarbage();
        Step();
        long before = Tensor.TotalCount;
        for (int i = 0; i < 100; i++)
        {
            Step();
        }

        Tensor.TotalCount.Should().Be(before);

        void Step()
        {
            using var scope = NewDisposeScope();
            var a = TokenLogProbs.FromLogits(logits, targets, out var entropy, 0.9, 3, entropyGradient: true);
            var b = TokenLogProbs.FromHiddenStates(hidden, weight, targets, bias, 0.9, 3);
            var c = TokenLogProbs.FromHiddenStates(hidden, weight, targets, out var entropy2, null, 1.0, 4);
            var d = TokenLogProbs.FromLogitsOverwritingLogits(hidden.matmul(weight.t()), targets, 0.9, 3);

            // Entropies that do not reach the loss (what the trainer asks for when it only logs them).
            var e = TokenLogProbs.FromLogits(logits, targets, out _, 0.9, 3);
            var f = TokenLogProbs.FromHiddenStates(hidden, weight, targets, out _, null, 1.0, 4);
            (a.sum() + b.sum() + c.sum() + d.sum() + e.sum() + f.sum() + entropy.sum() + entropy2.sum()).backward();
            logits.grad!.zero_();
            hidden.grad!.zero_();
            weight.grad!.zero_();
            bias.grad!.zero_();
        }
    }

    private static void CollectGarbage()
    {
        for (int i = 0; i < 3; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
    }
}
