namespace Vepa.Grpo.Kernels;

/// <summary>The outcome of the correctness gate for one kernel.</summary>
/// <param name="Kernel">The kernel's name.</param>
/// <param name="CasesRun">The cases that ran and were compared.</param>
/// <param name="CasesSkipped">The cases the kernel declared it does not support.</param>
/// <param name="FirstMismatch">The first case whose loss, statistics or gradient left the tolerance (or that threw), described with the case, the quantity, expected and actual values; <see langword="null"/> when every case passed.</param>
[System.Diagnostics.CodeAnalysis.Experimental(KernelContracts.ExperimentalDiagnosticId)]
public sealed record KernelGateReport(string Kernel, int CasesRun, int CasesSkipped, string? FirstMismatch)
{
    /// <summary>Gets a value indicating whether every case that ran passed (a kernel that ran no case does not pass).</summary>
    public bool Passed => FirstMismatch is null && CasesRun > 0;
}
