using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Vepa.Models;

/// <summary>A token embedding (parameter <c>weight</c> [V, H]) that only allocates its weight, like <see cref="QwenLinear"/>.</summary>
internal sealed class QwenEmbedding : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006, SA1307, SA1309 // Field names are the Hugging Face parameter names (TorchSharp registers fields by name).
    private readonly Parameter weight;
#pragma warning restore IDE1006, SA1307, SA1309

    internal QwenEmbedding(long vocabulary, long hidden, Device? device, ScalarType dtype)
        : base(nameof(QwenEmbedding))
    {
        weight = new Parameter(empty([vocabulary, hidden], dtype, device));
        RegisterComponents();
    }

    /// <summary>Gets the weight [V, H].</summary>
    internal Parameter Weight => weight;

    /// <summary>Looks ids [..] up: [.., H].</summary>
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var flat = weight.index_select(0, input.reshape(-1));
        long[] shape = [.. input.shape, weight.shape[1]];
        return flat.view(shape).MoveToOuterDisposeScope();
    }
}
