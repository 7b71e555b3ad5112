using TorchSharp;

namespace Vepa.Grpo;

/// <summary>The scalar policy loss (differentiable w.r.t. the policy log-probs) and its statistics.</summary>
/// <remarks>The caller owns <see cref="Loss"/>; dispose the result (or let the surrounding dispose scope do it).</remarks>
public sealed class PolicyLossResult : IDisposable
{
    /// <summary>Initializes a new instance of the <see cref="PolicyLossResult"/> class (public so that a user's
    /// <see cref="Kernels.IPolicyLossKernel"/> can return one).</summary>
    /// <param name="loss">The scalar loss; the result takes ownership of it.</param>
    /// <param name="statistics">The statistics.</param>
    /// <exception cref="ArgumentNullException"><paramref name="loss"/> or <paramref name="statistics"/> is <see langword="null"/>.</exception>
    public PolicyLossResult(torch.Tensor loss, PolicyLossStatistics statistics)
    {
        ArgumentNullException.ThrowIfNull(loss);
        ArgumentNullException.ThrowIfNull(statistics);
        Loss = loss;
        Statistics = statistics;
    }

    /// <summary>Gets the scalar loss; call <c>backward()</c> on it.</summary>
    public torch.Tensor Loss { get; }

    /// <summary>Gets the statistics trainers log.</summary>
    public PolicyLossStatistics Statistics { get; }

    /// <summary>Gets or sets a tensor the kernel made for the loss's autograd node (the top-entropy token mask), released with the result.</summary>
    internal torch.Tensor? Companion { get; set; }

    /// <inheritdoc />
    public void Dispose()
    {
        Loss.Dispose();
        Companion?.Dispose();
    }
}
