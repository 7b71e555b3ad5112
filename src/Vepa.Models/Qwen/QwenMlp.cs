using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Vepa.Models;

/// <summary>Qwen's SwiGLU MLP: <c>down_proj(silu(gate_proj(x)) * up_proj(x))</c>, no biases.</summary>
internal sealed class QwenMlp : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006, SA1307, SA1309 // Field names are the Hugging Face parameter names (TorchSharp registers fields by name).
    private readonly QwenLinear gate_proj;
    private readonly QwenLinear up_proj;
    private readonly QwenLinear down_proj;
#pragma warning restore IDE1006, SA1307, SA1309

    internal QwenMlp(QwenConfig config, Device? device, ScalarType dtype)
        : base(nameof(QwenMlp))
    {
        gate_proj = new QwenLinear(config.HiddenSize, config.IntermediateSize, false, device, dtype);
        up_proj = new QwenLinear(config.HiddenSize, config.IntermediateSize, false, device, dtype);
        down_proj = new QwenLinear(config.IntermediateSize, config.HiddenSize, false, device, dtype);
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var h = nn.functional.silu(gate_proj.forward(input)) * up_proj.forward(input);
        return down_proj.forward(h).MoveToOuterDisposeScope();
    }
}
