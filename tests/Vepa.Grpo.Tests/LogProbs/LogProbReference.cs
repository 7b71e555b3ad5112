using TorchSharp;
using static TorchSharp.torch;

namespace Vepa.Grpo.Tests.LogProbs;

/// <summary>
/// The independent reference: plain float64 ops (divide, log_softmax, gather) on float64 copies, differentiated by
/// TorchSharp's own autograd, and seeded random inputs.
/// </summary>
internal static class LogProbReference
{
    /// <summary>Reference log-probs [B, T], entropy [B, T] and d(Σ upstream · logp)/dlogits [B, T, V], all float64.</summary>
    public static (Tensor LogProbs, Tensor Entropy, Tensor Grad) FromLogits(Tensor logits, Tensor targets, Tensor upstream, double temperature)
    {
        var x = logits.detach().to(ScalarType.Float64).requires_grad_(true);
        var (logProbs, entropy) = Plain(x, targets, temperature);
        (logProbs * upstream.to(ScalarType.Float64)).sum().backward();
        return (logProbs.detach(), entropy.detach(), x.grad!.detach());
    }

    /// <summary>Reference log-probs, entropy and gradients w.r.t. hidden, weight and bias (null when bias is null), float64.</summary>
    public static (Tensor LogProbs, Tensor Entropy, Tensor GradHidden, Tensor GradWeight, Tensor? GradBias) FromHiddenStates(
        Tensor hidden, Tensor weight, Tensor? bias, Tensor targets, Tensor upstream, double temperature)
    {
        var h = hidden.detach().to(ScalarType.Float64).requires_grad_(true);
        var w = weight.detach().to(ScalarType.Float64).requires_grad_(true);
        var b = bias?.detach().to(ScalarType.Float64).requires_grad_(true);
        var logits = h.matmul(w.t());
        if (b is not null)
        {
            logits = logits + b;
        }

        var (logProbs, entropy) = Plain(logits, targets, temperature);
        (logProbs * upstream.to(ScalarType.Float64)).sum().backward();
        return (logProbs.detach(), entropy.detach(), h.grad!.detach(), w.grad!.detach(), b?.grad!.detach());
    }

    /// <summary>max |actual − expected| / max |expected|, computed in float64.</summary>
    public static double RelativeError(Tensor actual, Tensor expected)
    {
        var a = actual.detach().to(ScalarType.Float64);
        var e = expected.detach().to(ScalarType.Float64);
        a.shape.Should().Equal(e.shape);
        double scale = Math.Max(e.abs().max().item<double>(), 1e-300);
        return (a - e).abs().max().item<double>() / scale;
    }

    /// <summary>Seeded standard-normal values times <paramref name="scale"/>.</summary>
    public static Tensor Normal(Generator generator, long[] shape, ScalarType dtype = ScalarType.Float64, double scale = 1.0)
        => (randn(shape, ScalarType.Float64, generator: generator) * scale).to(dtype);

    /// <summary>Seeded token ids in [0, vocabulary).</summary>
    public static Tensor Ids(Generator generator, long batch, long time, long vocabulary, ScalarType dtype = ScalarType.Int64)
        => randint(vocabulary, [batch, time], ScalarType.Int64, generator: generator).to(dtype);

    private static (Tensor LogProbs, Tensor Entropy) Plain(Tensor logits, Tensor targets, double temperature)
    {
        var logSoftmax = (logits / temperature).log_softmax(-1);
        var logProbs = logSoftmax.gather(-1, targets.to(ScalarType.Int64).unsqueeze(-1)).squeeze(-1);
        var entropy = -(logSoftmax.exp() * logSoftmax).sum(-1);
        return (logProbs, entropy);
    }
}
