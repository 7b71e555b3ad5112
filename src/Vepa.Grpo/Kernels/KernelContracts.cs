namespace Vepa.Grpo.Kernels;

/// <summary>Constants shared by the kernel contracts, registry and correctness gate.</summary>
internal static class KernelContracts
{
    /// <summary>
    /// The diagnostic id of the kernel contracts, registry and gate (<c>VEPA0001</c>): these APIs may still change
    /// before 1.0. Suppress it with <c>&lt;NoWarn&gt;$(NoWarn);VEPA0001&lt;/NoWarn&gt;</c> to use them.
    /// </summary>
    public const string ExperimentalDiagnosticId = "VEPA0001";
}
