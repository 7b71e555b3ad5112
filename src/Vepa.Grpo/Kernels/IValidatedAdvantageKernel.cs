namespace Vepa.Grpo.Kernels;

/// <summary>A built-in advantage kernel that <see cref="GroupAdvantages"/> hands inputs it has already validated (several weighted
/// components, flat or [P, G] rewards); its public <see cref="IAdvantageKernel.Compute"/> validates for direct callers.</summary>
internal interface IValidatedAdvantageKernel : IAdvantageKernel
{
    /// <summary>Computes the advantages of inputs and options that have passed validation.</summary>
    /// <param name="batch">The validated inputs.</param>
    /// <param name="options">The validated options.</param>
    /// <returns>The advantages and the zero-signal statistics.</returns>
    /// <exception cref="ArgumentException">The kernel cannot run on these inputs, or a reward is infinite.</exception>
    AdvantageResult ComputeValidated(AdvantageBatch batch, AdvantageOptions options);
}
