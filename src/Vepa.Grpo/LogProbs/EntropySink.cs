using TorchSharp;

namespace Vepa.Grpo;

/// <summary>
/// Receives the per-token entropy a log-prob kernel computes on the side of its forward pass. Passed to the autograd
/// function as a plain object, so the entropy is a detached tensor (no gradient).
/// </summary>
internal sealed class EntropySink
{
    /// <summary>Gets or sets the entropy [B, T]; set by the kernel's forward pass.</summary>
    public torch.Tensor? Entropy { get; set; }
}
