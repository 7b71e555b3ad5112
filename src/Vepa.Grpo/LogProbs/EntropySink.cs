using TorchSharp;

namespace Vepa.Grpo;

/// <summary>
/// Asks a log-prob kernel for the per-token entropy and receives it: without gradient from the forward pass, or, when
/// <see cref="Differentiable"/>, from the autograd function's second output (stored here by the caller).
/// </summary>
internal sealed class EntropySink
{
    /// <summary>Gets a value indicating whether the entropy is a differentiable second output of the function; when not, the
    /// forward pass stores a plain tensor here and backward is unchanged.</summary>
    public bool Differentiable { get; init; }

    /// <summary>Gets or sets the entropy [B, T].</summary>
    public torch.Tensor? Entropy { get; set; }
}
