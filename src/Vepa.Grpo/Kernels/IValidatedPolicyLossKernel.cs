namespace Vepa.Grpo.Kernels;

/// <summary>A built-in policy-loss kernel that <see cref="PolicyLoss.Compute"/> hands inputs it has already validated, so the
/// checks (a pass over every tensor) run once; its public <see cref="IPolicyLossKernel.Compute"/> validates for direct callers.</summary>
internal interface IValidatedPolicyLossKernel : IPolicyLossKernel
{
    /// <summary>Computes the loss of inputs and options that have passed validation.</summary>
    /// <param name="inputs">The validated inputs.</param>
    /// <param name="options">The validated options.</param>
    /// <returns>The loss and its statistics.</returns>
    /// <exception cref="ArgumentException">The kernel cannot run on these inputs; the message says why.</exception>
    PolicyLossResult ComputeValidated(PolicyLossInputs inputs, PolicyLossOptions options);
}
