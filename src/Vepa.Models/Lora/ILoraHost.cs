using TorchSharp.Modules;

namespace Vepa.Models;

/// <summary>A linear layer that adds a LoRA adapter to its own output: Vepa's Qwen projections and <see cref="AdaptableLinear"/>.</summary>
internal interface ILoraHost
{
    /// <summary>Gets the layer's weight W [out, in].</summary>
    Parameter Weight { get; }

    /// <summary>Gets the adapter the layer adds, or <see langword="null"/> for none.</summary>
    LoraLayer? Lora { get; }

    /// <summary>Adds <paramref name="lora"/>: its <c>lora_A</c>, <c>lora_B</c> (and <c>lora_dropout</c>) become the layer's children.</summary>
    /// <exception cref="InvalidOperationException">The layer already has an adapter.</exception>
    void Attach(LoraLayer lora);
}
