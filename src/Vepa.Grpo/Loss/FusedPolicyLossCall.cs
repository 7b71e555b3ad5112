using TorchSharp;

namespace Vepa.Grpo;

/// <summary>
/// The non-tensor argument of <see cref="FusedPolicyLossFunction"/>: the constant inputs and options going in, the
/// statistics vector coming out. Passed as a plain object so autograd does not treat the constant tensors as inputs.
/// </summary>
internal sealed class FusedPolicyLossCall
{
    /// <summary>Initializes a new instance of the <see cref="FusedPolicyLossCall"/> class.</summary>
    /// <param name="inputs">The validated inputs.</param>
    /// <param name="options">The validated options.</param>
    /// <param name="needsGradient">Whether the forward pass should compute the gradient coefficient.</param>
    public FusedPolicyLossCall(PolicyLossInputs inputs, PolicyLossOptions options, bool needsGradient)
    {
        Inputs = inputs;
        Options = options;
        NeedsGradient = needsGradient;
    }

    /// <summary>Gets the inputs.</summary>
    public PolicyLossInputs Inputs { get; }

    /// <summary>Gets the options.</summary>
    public PolicyLossOptions Options { get; }

    /// <summary>Gets a value indicating whether the gradient coefficient is computed.</summary>
    public bool NeedsGradient { get; }

    /// <summary>Gets or sets the statistics vector (float64, on the inputs' device) the forward pass produced.</summary>
    public torch.Tensor? Summary { get; set; }

    /// <summary>Gets or sets where each quantity sits in <see cref="Summary"/>.</summary>
    public FusedPolicyLossSummaryLayout? Layout { get; set; }
}
