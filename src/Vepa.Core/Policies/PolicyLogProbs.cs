using TorchSharp;

namespace Vepa;

/// <summary>Per-token log-probs of given completions under a policy, and optionally the entropy.</summary>
/// <remarks>The tensors belong to the dispose scope that was current when they were computed (or to the caller when there was none); dispose the result to release them early.</remarks>
public sealed class PolicyLogProbs : IDisposable
{
    /// <summary>Initializes a new instance of the <see cref="PolicyLogProbs"/> class.</summary>
    /// <param name="logProbs">The log-probs [R, T].</param>
    /// <param name="entropy">The entropy [R, T], or <see langword="null"/>.</param>
    /// <exception cref="ArgumentNullException"><paramref name="logProbs"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="entropy"/> is not shaped like <paramref name="logProbs"/>.</exception>
    public PolicyLogProbs(torch.Tensor logProbs, torch.Tensor? entropy = null)
    {
        ArgumentNullException.ThrowIfNull(logProbs);
        if (entropy is not null && !entropy.shape.SequenceEqual(logProbs.shape))
        {
            throw new ArgumentException($"entropy must be shaped like logProbs [{string.Join(", ", logProbs.shape)}]; got [{string.Join(", ", entropy.shape)}].", nameof(entropy));
        }

        LogProbs = logProbs;
        Entropy = entropy;
    }

    /// <summary>Gets log π(token) per completion token, [R, T] for the R requested rows; differentiable w.r.t. the policy's trainable parameters unless computed under <c>no_grad</c>.</summary>
    public torch.Tensor LogProbs { get; }

    /// <summary>Gets the entropy of the predicted distribution per token, [R, T], without gradient; <see langword="null"/> when not requested.</summary>
    public torch.Tensor? Entropy { get; }

    /// <inheritdoc />
    public void Dispose()
    {
        LogProbs.Dispose();
        Entropy?.Dispose();
    }
}
