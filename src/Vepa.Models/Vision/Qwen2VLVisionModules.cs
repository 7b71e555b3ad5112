using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Vepa.Models;

/// <summary>The 3-D patch embedding: a Conv3d with kernel = stride = (T, P, P) and no bias, applied as one matrix product per flattened patch.</summary>
internal sealed class Qwen2VLPatchEmbed : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006, SA1307, SA1309 // Field names are the Hugging Face parameter names.
    private readonly Conv3d proj;
#pragma warning restore IDE1006, SA1307, SA1309
    private readonly int _embedDim;

    internal Qwen2VLPatchEmbed(Qwen2VLVisionConfig config, Device? device, ScalarType dtype)
        : base(nameof(Qwen2VLPatchEmbed))
    {
        _embedDim = config.EmbedDim;
        (long, long, long) kernel = (config.TemporalPatchSize, config.PatchSize, config.PatchSize);
        proj = nn.Conv3d(config.InChannels, config.EmbedDim, kernel, stride: kernel, bias: false, device: device, dtype: dtype);
        RegisterComponents();
    }

    /// <summary>[N, C·T·P·P] → [N, E]: the convolution over a patch that is exactly one kernel window is a dot product with the flattened kernel.</summary>
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var weight = proj.weight!;
        return input.to(weight.dtype).matmul(weight.view(_embedDim, -1).t()).MoveToOuterDisposeScope();
    }
}

/// <summary>A vision block's attention: fused qkv (with bias), 2-D rotary on q and k, attention within each image, output projection.</summary>
internal sealed class Qwen2VLVisionAttention : nn.Module
{
#pragma warning disable IDE1006, SA1307, SA1309
    private readonly Linear qkv;
    private readonly Linear proj;
#pragma warning restore IDE1006, SA1307, SA1309
    private readonly int _heads;
    private readonly int _headDim;

    internal Qwen2VLVisionAttention(Qwen2VLVisionConfig config, Device? device, ScalarType dtype)
        : base(nameof(Qwen2VLVisionAttention))
    {
        _heads = config.NumHeads;
        _headDim = config.HeadDim;
        qkv = nn.Linear(config.EmbedDim, 3 * config.EmbedDim, hasBias: true, device: device, dtype: dtype);
        proj = nn.Linear(config.EmbedDim, config.EmbedDim, hasBias: true, device: device, dtype: dtype);
        RegisterComponents();
    }

    /// <summary>x [N, E]; cos/sin [N, head_dim] in float32 or float64; lengths: patches per image (attention stays inside each).</summary>
    internal Tensor Forward(Tensor x, Tensor cos, Tensor sin, long[] lengths)
    {
        using var scope = NewDisposeScope();
        long n = x.shape[0];
        var parts = qkv.forward(x).view(n, 3, _heads, _headDim).permute(1, 2, 0, 3); // [3, heads, N, hd]
        var q = ApplyRotary(parts[0], cos, sin);
        var k = ApplyRotary(parts[1], cos, sin);
        var v = parts[2];
        var outputs = new List<Tensor>(lengths.Length);
        long start = 0;
        foreach (long len in lengths)
        {
            var qi = q.narrow(1, start, len).unsqueeze(0);
            var ki = k.narrow(1, start, len).unsqueeze(0);
            var vi = v.narrow(1, start, len).unsqueeze(0);
            outputs.Add(nn.functional.scaled_dot_product_attention(qi, ki, vi).squeeze(0));
            start += len;
        }

        var attended = (outputs.Count == 1 ? outputs[0] : cat(outputs, 1)).permute(1, 0, 2).reshape(n, _heads * _headDim);
        return proj.forward(attended).MoveToOuterDisposeScope();
    }

    // As Hugging Face: rotate in float32 (float64 for float64 weights), then back to the compute dtype.
    private static Tensor ApplyRotary(Tensor t, Tensor cos, Tensor sin)
    {
        var wide = t.to(cos.dtype);
        long half = t.shape[^1] / 2;
        var rotated = cat([wide.narrow(-1, half, half).neg(), wide.narrow(-1, 0, half)], -1);
        return ((wide * cos) + (rotated * sin)).to(t.dtype);
    }
}

/// <summary>A vision block's MLP: fc1 → activation → fc2, with biases.</summary>
internal sealed class Qwen2VLVisionMlp : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006, SA1307, SA1309
    private readonly Linear fc1;
    private readonly Linear fc2;
#pragma warning restore IDE1006, SA1307, SA1309
    private readonly string _act;

    internal Qwen2VLVisionMlp(Qwen2VLVisionConfig config, Device? device, ScalarType dtype)
        : base(nameof(Qwen2VLVisionMlp))
    {
        _act = config.HiddenAct;
        fc1 = nn.Linear(config.EmbedDim, config.MlpHiddenDim, hasBias: true, device: device, dtype: dtype);
        fc2 = nn.Linear(config.MlpHiddenDim, config.EmbedDim, hasBias: true, device: device, dtype: dtype);
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var h = fc1.forward(input);
        h = _act switch
        {
            "quick_gelu" => h * (h * 1.702).sigmoid(),
            "gelu" => nn.functional.gelu(h),
            "gelu_pytorch_tanh" or "gelu_new" => 0.5 * h * (1.0 + ((h + (0.044715 * h.pow(3))) * Math.Sqrt(2.0 / Math.PI)).tanh()),
            "silu" => nn.functional.silu(h),
            _ => throw new InvalidOperationException($"Activation '{_act}' is not implemented."),
        };
        return fc2.forward(h).MoveToOuterDisposeScope();
    }
}

/// <summary>A pre-norm vision block: x + attn(norm1(x)), then x + mlp(norm2(x)); LayerNorms with eps 1e-6.</summary>
internal sealed class Qwen2VLVisionBlock : nn.Module
{
#pragma warning disable IDE1006, SA1307, SA1309
    private readonly LayerNorm norm1;
    private readonly LayerNorm norm2;
    private readonly Qwen2VLVisionAttention attn;
    private readonly Qwen2VLVisionMlp mlp;
#pragma warning restore IDE1006, SA1307, SA1309

    internal Qwen2VLVisionBlock(Qwen2VLVisionConfig config, Device? device, ScalarType dtype)
        : base(nameof(Qwen2VLVisionBlock))
    {
        norm1 = nn.LayerNorm(config.EmbedDim, eps: 1e-6, device: device, dtype: dtype);
        norm2 = nn.LayerNorm(config.EmbedDim, eps: 1e-6, device: device, dtype: dtype);
        attn = new Qwen2VLVisionAttention(config, device, dtype);
        mlp = new Qwen2VLVisionMlp(config, device, dtype);
        RegisterComponents();
    }

    internal Tensor Forward(Tensor x, Tensor cos, Tensor sin, long[] lengths)
    {
        using var scope = NewDisposeScope();
        x = x + attn.Forward(norm1.forward(x), cos, sin, lengths);
        x = x + mlp.forward(norm2.forward(x));
        return x.MoveToOuterDisposeScope();
    }
}

/// <summary>The patch merger: LayerNorm (eps 1e-6) per patch, then merge² neighbouring patches concatenated → Linear → GELU → Linear to the language model's width.</summary>
internal sealed class Qwen2VLPatchMerger : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006, SA1307, SA1309
    private readonly LayerNorm ln_q;
    private readonly Sequential mlp;
#pragma warning restore IDE1006, SA1307, SA1309
    private readonly int _merged;

    internal Qwen2VLPatchMerger(Qwen2VLVisionConfig config, Device? device, ScalarType dtype)
        : base(nameof(Qwen2VLPatchMerger))
    {
        _merged = config.EmbedDim * config.SpatialMergeSize * config.SpatialMergeSize;
        ln_q = nn.LayerNorm(config.EmbedDim, eps: 1e-6, device: device, dtype: dtype);
        mlp = nn.Sequential(
            ("0", nn.Linear(_merged, _merged, hasBias: true, device: device, dtype: dtype)),
            ("1", nn.GELU()),
            ("2", nn.Linear(_merged, config.HiddenSize, hasBias: true, device: device, dtype: dtype)));
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        return mlp.forward(ln_q.forward(input).view(-1, _merged)).MoveToOuterDisposeScope();
    }
}
