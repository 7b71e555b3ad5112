using TorchSharp;

namespace Vepa.Grpo.Kernels;

/// <summary>A group-advantage implementation the registry and the harness can run by name.</summary>
/// <remarks>
/// Contract: rewards [P, G] (NaN = a reward that could not be computed) and <see cref="AdvantageOptions"/> (normalisation
/// and ε; the combination of several reward components is not part of this contract). Output: the advantages [P, G], with 0
/// for NaN rewards and for groups whose valid rewards are all equal. The kernel must not dispose its input.
/// <para>Register it in a <see cref="KernelRegistry"/> and name it in <see cref="AdvantageOptions.Kernel"/> (with that registry as
/// <see cref="AdvantageOptions.Kernels"/>) to have <see cref="GroupAdvantages"/>, and so a trainer step, compute the advantages with it.</para>
/// </remarks>
[System.Diagnostics.CodeAnalysis.Experimental(KernelContracts.ExperimentalDiagnosticId)]
public interface IAdvantageKernel
{
    /// <summary>Gets the name the kernel is registered, filtered and reported under.</summary>
    string Name { get; }

    /// <summary>Computes the advantages.</summary>
    /// <param name="rewards">The rewards [P, G].</param>
    /// <param name="options">The options.</param>
    /// <returns>The advantages [P, G].</returns>
    torch.Tensor Compute(torch.Tensor rewards, AdvantageOptions options);
}
