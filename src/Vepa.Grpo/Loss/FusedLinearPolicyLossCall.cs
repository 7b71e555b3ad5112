using TorchSharp;

namespace Vepa.Grpo;

/// <summary>
/// The non-tensor argument of <see cref="FusedLinearPolicyLossFunction"/>: the validated inputs and options going in, the
/// statistics vector and its layout coming out.
/// </summary>
/// <param name="Inputs">The caller's inputs.</param>
/// <param name="LossInputs">The policy-loss view of them; its <see cref="PolicyLossInputs.LogProbs"/> is the [B, T] buffer the kernel fills.</param>
/// <param name="Options">The validated options.</param>
/// <param name="NeedHidden">Whether the gradient w.r.t. the hidden states is computed.</param>
/// <param name="NeedWeight">Whether the gradient w.r.t. the weight is computed.</param>
/// <param name="NeedBias">Whether the gradient w.r.t. the bias is computed.</param>
internal sealed record FusedLinearPolicyLossCall(
    FusedLinearPolicyLossInputs Inputs,
    PolicyLossInputs LossInputs,
    PolicyLossOptions Options,
    bool NeedHidden,
    bool NeedWeight,
    bool NeedBias)
{
    /// <summary>Gets or sets the statistics vector (float64) the kernel produced.</summary>
    public torch.Tensor? Summary { get; set; }

    /// <summary>Gets or sets where each quantity sits in <see cref="Summary"/>.</summary>
    public FusedPolicyLossSummaryLayout? Layout { get; set; }
}
