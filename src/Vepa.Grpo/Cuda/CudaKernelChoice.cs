using System.Collections.Concurrent;
using System.Diagnostics;

namespace Vepa.Grpo.Cuda;

/// <summary>
/// Records which implementation a CUDA kernel entry point chose (the CUDA kernel, or the tensor-kernel fallback and why),
/// logging each distinct choice once per process through <see cref="Trace"/> (and <see cref="Sink"/>, which tests replace).
/// </summary>
internal static class CudaKernelChoice
{
    private static readonly ConcurrentDictionary<string, string> Logged = new(StringComparer.Ordinal);

    /// <summary>Gets or sets where each first-time choice is written; the default is <see cref="Trace.TraceInformation(string)"/>.</summary>
    public static Action<string> Sink { get; set; } = message => Trace.TraceInformation(message);

    /// <summary>Gets the choices logged so far (key: contract and choice; value: the message).</summary>
    public static IReadOnlyDictionary<string, string> Choices => Logged;

    /// <summary>Records a choice; logs it the first time this contract makes it.</summary>
    /// <param name="contract">The contract, e.g. "policy loss".</param>
    /// <param name="fallbackReason">Why the tensor kernel runs instead, or <see langword="null"/> when the CUDA kernel runs.</param>
    public static void Record(string contract, string? fallbackReason)
    {
        string choice = fallbackReason is null ? "cuda" : "tensor fallback: " + fallbackReason;
        string key = contract + " -> " + choice;
        string message = fallbackReason is null
            ? $"Vepa: the {contract} runs as a fused CUDA kernel."
            : $"Vepa: the {contract} runs on the tensor kernels ({fallbackReason}).";
        if (Logged.TryAdd(key, message))
        {
            Sink(message);
        }
    }
}
