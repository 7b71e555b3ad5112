using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Vepa.Models;

/// <summary>
/// A linear layer <c>y = x·Wᵀ + b</c> (parameters <c>weight</c> [out, in] and optional <c>bias</c> [out]) whose parameters are only
/// allocated, in the requested dtype and device: TorchSharp's <c>nn.Linear</c> initialises its weights (and may pass through float32),
/// which costs time and transient host memory when the weights are about to be loaded anyway.
/// </summary>
internal sealed class QwenLinear : nn.Module<Tensor, Tensor>, ILoraHost
{
#pragma warning disable IDE1006, SA1307, SA1309 // Field names are the Hugging Face parameter names (TorchSharp registers fields by name).
    private readonly Parameter weight;
    private readonly Parameter? bias;
#pragma warning restore IDE1006, SA1307, SA1309

    internal QwenLinear(long inputSize, long outputSize, bool hasBias, Device? device, ScalarType dtype)
        : base(nameof(QwenLinear))
    {
        weight = new Parameter(empty([outputSize, inputSize], dtype, device));
        if (hasBias)
        {
            bias = new Parameter(empty([outputSize], dtype, device));
        }

        RegisterComponents();
    }

    /// <summary>Gets the weight [out, in].</summary>
    public Parameter Weight => weight;

    /// <summary>Gets the LoRA adapter added to this layer's output, or <see langword="null"/> for none.</summary>
    public LoraLayer? Lora { get; private set; }

    public override Tensor forward(Tensor input)
    {
        var result = nn.functional.linear(input, weight, bias);
        return Lora is null ? result : Lora.AddTo(result, input);
    }

    /// <summary>Adds a LoRA adapter: its <c>lora_A</c>, <c>lora_B</c> (and <c>lora_dropout</c>) become this layer's children.</summary>
    public void Attach(LoraLayer lora) => Lora = lora.RegisterOn(this, Lora);
}
