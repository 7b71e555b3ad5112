using TorchSharp;
using Vepa.Grpo;
using static TorchSharp.torch;

namespace Vepa.Models;

/// <summary>One pre-norm decoder layer: <c>h = x + attn(input_layernorm(x))</c>, <c>out = h + mlp(post_attention_layernorm(h))</c>.</summary>
internal sealed class QwenDecoderLayer : nn.Module
{
#pragma warning disable IDE1006, SA1307, SA1309 // Field names are the Hugging Face parameter names (TorchSharp registers fields by name).
    private readonly QwenAttention self_attn;
    private readonly QwenMlp mlp;
    private readonly QwenRmsNorm input_layernorm;
    private readonly QwenRmsNorm post_attention_layernorm;
#pragma warning restore IDE1006, SA1307, SA1309

    internal QwenDecoderLayer(QwenConfig config, int layerIndex, Device? device, ScalarType dtype)
        : base(nameof(QwenDecoderLayer))
    {
        self_attn = new QwenAttention(config, layerIndex, device, dtype);
        mlp = new QwenMlp(config, device, dtype);
        input_layernorm = new QwenRmsNorm(config.HiddenSize, config.RmsNormEps, device, dtype);
        post_attention_layernorm = new QwenRmsNorm(config.HiddenSize, config.RmsNormEps, device, dtype);
        RegisterComponents();
    }

    internal Tensor Forward(Tensor hidden, Tensor cos, Tensor sin, Tensor? mask, bool causal, KeyValueCache? cache)
    {
        using var scope = NewDisposeScope();
        var h = hidden + self_attn.Forward(input_layernorm.forward(hidden), cos, sin, mask, causal, cache);
        var output = h + mlp.forward(post_attention_layernorm.forward(h));
        return output.MoveToOuterDisposeScope();
    }
}
