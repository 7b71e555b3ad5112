using TorchSharp;

namespace Vepa.Grpo;

/// <summary>The scalar policy loss (differentiable w.r.t. the policy log-probs) and its statistics.</summary>
/// <remarks>The caller owns <see cref="Loss"/>; dispose the result (or let the surrounding dispose scope do it).</remarks>
public sealed class PolicyLossResult : IDisposable
{
    /// <summary>Initializes a new instance of the <see cref="PolicyLossResult"/> class.</summary>
    /// <param name="loss">The scalar loss.</param>
    /// <param name="statistics">The statistics.</param>
    internal PolicyLossResult(torch.Tensor loss, PolicyLossStatistics statistics)
    {
        Loss = loss;
        Statistics = statistics;
    }

    /// <summary>Gets the scalar loss; call <c>backward()</c> on it.</summary>
    public torch.Tensor Loss { get; }

    /// <summary>Gets the statistics trainers log.</summary>
    public PolicyLossStatistics Statistics { get; }

    /// <inheritdoc />
    public void Dispose() => Loss.Dispose();
}
