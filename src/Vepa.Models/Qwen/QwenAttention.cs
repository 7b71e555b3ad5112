using TorchSharp;
using TorchSharp.Modules;
using Vepa.Grpo;
using static TorchSharp.torch;

namespace Vepa.Models;

/// <summary>
/// Qwen's grouped-query self-attention: q/k/v projections (with bias for Qwen2, optional for Qwen3), Qwen3's per-head q/k RMSNorm
/// before RoPE, rotary embeddings, the KV cache, scaled-dot-product attention (scale 1/√d) over repeated key/value heads, and o_proj.
/// </summary>
internal sealed class QwenAttention : nn.Module
{
#pragma warning disable IDE1006, SA1307, SA1309 // Field names are the Hugging Face parameter names (TorchSharp registers fields by name).
    private readonly QwenLinear q_proj;
    private readonly QwenLinear k_proj;
    private readonly QwenLinear v_proj;
    private readonly QwenLinear o_proj;
    private readonly QwenRmsNorm? q_norm;
    private readonly QwenRmsNorm? k_norm;
#pragma warning restore IDE1006, SA1307, SA1309
    private readonly int _heads;
    private readonly int _kvHeads;
    private readonly int _headDim;
    private readonly int _layerIndex;

    internal QwenAttention(QwenConfig config, int layerIndex, Device? device, ScalarType dtype)
        : base(nameof(QwenAttention))
    {
        _heads = config.NumAttentionHeads;
        _kvHeads = config.NumKeyValueHeads;
        _headDim = config.EffectiveHeadDim;
        _layerIndex = layerIndex;
        bool bias = config.AttentionBias;
        q_proj = new QwenLinear(config.HiddenSize, _heads * _headDim, bias, device, dtype);
        k_proj = new QwenLinear(config.HiddenSize, _kvHeads * _headDim, bias, device, dtype);
        v_proj = new QwenLinear(config.HiddenSize, _kvHeads * _headDim, bias, device, dtype);
        o_proj = new QwenLinear(_heads * _headDim, config.HiddenSize, false, device, dtype);
        if (config.QueryKeyNorm)
        {
            q_norm = new QwenRmsNorm(_headDim, config.RmsNormEps, device, dtype);
            k_norm = new QwenRmsNorm(_headDim, config.RmsNormEps, device, dtype);
        }

        RegisterComponents();
    }

    /// <summary>Attends.</summary>
    /// <param name="hidden">[B, L, H].</param>
    /// <param name="cos">[B, L, d] in the compute dtype.</param>
    /// <param name="sin">[B, L, d] in the compute dtype.</param>
    /// <param name="mask">Boolean [B, 1, L, L_k] (true = attend), or <see langword="null"/> for <paramref name="causal"/> or no mask.</param>
    /// <param name="causal">Without a mask: whether to apply the plain causal mask (no past positions).</param>
    /// <param name="cache">The KV cache, or <see langword="null"/>.</param>
    internal Tensor Forward(Tensor hidden, Tensor cos, Tensor sin, Tensor? mask, bool causal, KeyValueCache? cache)
    {
        using var scope = NewDisposeScope();
        long batch = hidden.shape[0], length = hidden.shape[1];
        var q = q_proj.forward(hidden).view(batch, length, _heads, _headDim);
        var k = k_proj.forward(hidden).view(batch, length, _kvHeads, _headDim);
        var v = v_proj.forward(hidden).view(batch, length, _kvHeads, _headDim).transpose(1, 2);
        if (q_norm is not null)
        {
            q = q_norm.forward(q);
            k = k_norm!.forward(k);
        }

        q = q.transpose(1, 2);
        k = k.transpose(1, 2);
        var c = cos.unsqueeze(1);
        var s = sin.unsqueeze(1);
        q = (q * c) + (RotateHalf(q) * s);
        k = (k * c) + (RotateHalf(k) * s);
        if (cache is not null)
        {
            (k, v) = cache.Append(_layerIndex, k, v);
        }

        k = RepeatHeads(k);
        v = RepeatHeads(v);
        var attended = nn.functional.scaled_dot_product_attention(q, k, v, mask, 0.0, mask is null && causal);
        var merged = attended.transpose(1, 2).reshape(batch, length, _heads * _headDim);
        return o_proj.forward(merged).MoveToOuterDisposeScope();
    }

    private static Tensor RotateHalf(Tensor x)
    {
        long half = x.shape[^1] / 2;
        return cat([-x.narrow(-1, half, half), x.narrow(-1, 0, half)], -1);
    }

    private Tensor RepeatHeads(Tensor x)
    {
        int groups = _heads / _kvHeads;
        if (groups == 1)
        {
            return x;
        }

        long batch = x.shape[0], length = x.shape[2];
        return x.unsqueeze(2).expand(batch, _kvHeads, groups, length, _headDim).reshape(batch, _heads, length, _headDim);
    }
}
