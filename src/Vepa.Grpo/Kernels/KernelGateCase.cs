using TorchSharp;

namespace Vepa.Grpo.Kernels;

/// <summary>One case of the correctness gate: a named option set, a shape and a dtype.</summary>
/// <param name="Variant">The variant's name (docs/kernels.md, "Named variants").</param>
/// <param name="Options">The options.</param>
/// <param name="Batch">B.</param>
/// <param name="Time">T.</param>
/// <param name="Dtype">The dtype of the log-probs and the other float inputs.</param>
/// <param name="Form">The input form: "plain", "per-token-advantages", "int64-mask", "fully-masked".</param>
internal sealed record KernelGateCase(string Variant, PolicyLossOptions Options, int Batch, int Time, torch.ScalarType Dtype, string Form)
{
    public override string ToString() => $"{Variant}, {Batch}x{Time}, {Dtype}, {Form}";
}
