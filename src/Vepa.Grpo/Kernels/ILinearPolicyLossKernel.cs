namespace Vepa.Grpo.Kernels;

/// <summary>
/// A policy loss computed from hidden states and the LM head (a fused linear loss, or matmul + log-probs + loss) that the
/// registry, the gate and the harness can run by name.
/// </summary>
/// <remarks>
/// Contract: <see cref="FusedLinearPolicyLossInputs"/> (validated shapes, as for <see cref="FusedLinearPolicyLoss"/>) and
/// <see cref="PolicyLossOptions"/>. Output: the loss, differentiable w.r.t. the hidden states, the weight and the bias (the
/// gradients are the outputs the gate checks), and its statistics. The kernel must not dispose its inputs.
/// </remarks>
[System.Diagnostics.CodeAnalysis.Experimental(KernelContracts.ExperimentalDiagnosticId)]
public interface ILinearPolicyLossKernel
{
    /// <summary>Gets the name the kernel is registered, filtered and reported under.</summary>
    string Name { get; }

    /// <summary>Computes the loss and its statistics.</summary>
    /// <param name="inputs">The inputs.</param>
    /// <param name="options">The options.</param>
    /// <returns>The loss and its statistics.</returns>
    PolicyLossResult Compute(FusedLinearPolicyLossInputs inputs, PolicyLossOptions options);
}
