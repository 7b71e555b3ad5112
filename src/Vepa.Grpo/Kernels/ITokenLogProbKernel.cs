using TorchSharp;

namespace Vepa.Grpo.Kernels;

/// <summary>A token log-prob implementation (log p(target) per position from logits) the registry and the harness can run by name.</summary>
/// <remarks>
/// Contract: logits [B, T, V] (which the kernel may overwrite during backward only if its name says so: the gate hands each
/// call fresh logits), targets [B, T] int64, a temperature τ &gt; 0. Output: log-probs [B, T], differentiable w.r.t. the
/// logits (the gradient is the second output the gate checks). The kernel must not dispose its inputs.
/// </remarks>
[System.Diagnostics.CodeAnalysis.Experimental(KernelContracts.ExperimentalDiagnosticId)]
public interface ITokenLogProbKernel
{
    /// <summary>Gets the name the kernel is registered, filtered and reported under.</summary>
    string Name { get; }

    /// <summary>Computes log p(target) per position.</summary>
    /// <param name="logits">The logits [B, T, V].</param>
    /// <param name="targets">The target ids [B, T], int64.</param>
    /// <param name="temperature">The sampling temperature τ &gt; 0.</param>
    /// <returns>The log-probs [B, T].</returns>
    torch.Tensor Compute(torch.Tensor logits, torch.Tensor targets, double temperature);
}
