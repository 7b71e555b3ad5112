using TorchSharp;
using static TorchSharp.torch;

namespace Vepa.Grpo;

/// <summary>
/// The backward of the fused and managed loss when autograd records it (<c>autograd.grad(..., create_graph: true)</c> or
/// <c>backward(create_graph: true)</c>): the gradient is formed again from the same loss written in differentiable tensor
/// ops, so a second derivative through it is the true one instead of silently zero.
/// </summary>
/// <remarks>
/// Rejecting double backward with an exception is not possible in TorchSharp 0.107: a .NET exception thrown inside a
/// custom function's backward terminates the process (it crosses the native autograd engine), and so does any native error
/// raised under <c>autograd.grad</c> (its native entry point does not translate errors). Supporting it exactly is the
/// only safe answer. It costs one extra forward of the loss in tensor ops, in that rare case only.
/// </remarks>
internal static class PolicyLossDoubleBackward
{
    /// <summary>Returns grad_output · dLoss/dLogProbs as a differentiable function of <paramref name="logProbs"/>.</summary>
    /// <param name="logProbs">The saved log-probs (still attached to the caller's graph).</param>
    /// <param name="inputs">The caller's constant inputs.</param>
    /// <param name="options">The options.</param>
    /// <param name="gradOutput">The incoming gradient.</param>
    /// <returns>The gradient, in the dtype of <paramref name="logProbs"/>, carrying a graph.</returns>
    public static Tensor Gradient(Tensor logProbs, PolicyLossInputs inputs, PolicyLossOptions options, Tensor gradOutput)
    {
        using var scope = NewDisposeScope();
        using var grad = enable_grad();

        // On-policy, old = stopgrad(log π): ρ = exp(log π − sg(log π)) has the value 1 and the derivative ρ.
        var constants = inputs.OldLogProbs is null ? inputs with { OldLogProbs = logProbs.detach() } : inputs;
        var (loss, _, _, _) = FusedPolicyLossFunction.Run(logProbs, constants, options, needsGradient: false);
        var gradient = autograd.grad([loss], [logProbs], retain_graph: true, create_graph: true)[0];
        var result = gradient.mul(gradOutput);
        if (result.dtype != logProbs.dtype)
        {
            result = result.to(logProbs.dtype);
        }

        return result.MoveToOuterDisposeScope();
    }
}
