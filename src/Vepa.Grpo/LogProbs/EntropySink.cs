using TorchSharp;

namespace Vepa.Grpo;

/// <summary>
/// Asks a log-prob kernel for the per-token entropy and receives it: the kernel's autograd function returns the entropy as
/// its second (differentiable) output, which the caller stores here.
/// </summary>
internal sealed class EntropySink
{
    /// <summary>Gets or sets the entropy [B, T]; set from the function's second output.</summary>
    public torch.Tensor? Entropy { get; set; }
}
