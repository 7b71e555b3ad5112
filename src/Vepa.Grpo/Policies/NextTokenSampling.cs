using TorchSharp;
using static TorchSharp.torch;

namespace Vepa.Grpo;

/// <summary>Draws the next token from logits: temperature, top-k, top-p (in that order), then a categorical draw.</summary>
internal static class NextTokenSampling
{
    /// <summary>Filters logits / τ with top-k and top-p, returning log-probs of the sampling distribution ([N, V], −∞ outside the support).</summary>
    public static Tensor FilteredLogProbs(Tensor logits, double temperature, int? topK, double topP)
    {
        using var scope = NewDisposeScope();
        var z = logits / temperature;
        long vocabulary = z.shape[^1];
        if (topK is int k && k > 0 && k < vocabulary)
        {
            var kth = z.topk(k, dim: -1).values.narrow(-1, k - 1, 1);
            z = z.masked_fill(z.lt(kth), double.NegativeInfinity);
        }

        if (topP < 1.0)
        {
            var (sorted, order) = z.sort(dim: -1, descending: true);
            var probabilities = sorted.softmax(-1);
            // Drop a token when the tokens before it already reach p: the kept set is the smallest prefix whose mass is >= p.
            var before = probabilities.cumsum(-1) - probabilities;
            var filtered = sorted.masked_fill(before.ge(topP), double.NegativeInfinity);
            z = full_like(z, double.NegativeInfinity).scatter(-1, order, filtered);
        }

        return z.log_softmax(-1).MoveToOuterDisposeScope();
    }

    /// <summary>Samples one token per row; returns the ids [N] and their log-probs under the sampling distribution [N] (0 for greedy).</summary>
    public static (Tensor Ids, Tensor LogProbs) Sample(Tensor logits, SamplingOptions options, Generator generator)
    {
        using var scope = NewDisposeScope();
        if (options.Temperature == 0)
        {
            var greedy = logits.argmax(-1);
            return (greedy.MoveToOuterDisposeScope(), zeros(greedy.shape, logits.dtype, logits.device).MoveToOuterDisposeScope());
        }

        var logProbs = FilteredLogProbs(logits, options.Temperature, options.TopK, options.TopP);
        var ids = multinomial(logProbs.exp(), 1, replacement: true, generator: generator);
        var chosen = logProbs.gather(-1, ids).squeeze(-1);
        return (ids.squeeze(-1).MoveToOuterDisposeScope(), chosen.MoveToOuterDisposeScope());
    }
}
