using TorchSharp;
using TorchSharp.Modules;
using Vepa.Grpo;
using static TorchSharp.torch;

namespace Vepa.Models;

/// <summary>
/// The Qwen2 / Qwen3 decoder stack (Hugging Face's <c>Qwen2Model</c> / <c>Qwen3Model</c>, the <c>model.*</c> parameters): token
/// embedding, decoder layers and the final RMSNorm. It takes input <em>embeddings</em> and precomputed rotary cos/sin, so a
/// vision-language model can splice image features into the embeddings and supply its own (multimodal) rotary positions.
/// </summary>
/// <remarks>
/// <para>Parameter names (relative to this module) are Hugging Face's: <c>embed_tokens.weight</c>,
/// <c>layers.{i}.self_attn.{q,k,v,o}_proj.{weight,bias}</c>, <c>layers.{i}.self_attn.{q,k}_norm.weight</c> (Qwen3),
/// <c>layers.{i}.mlp.{gate,up,down}_proj.weight</c>, <c>layers.{i}.{input,post_attention}_layernorm.weight</c>, <c>norm.weight</c>.</para>
/// <para><b>Masking.</b> With an attention mask [B, L_past + L] (1 = token, 0 = padding) a query attends to the keys at or before its
/// own position that are not padding; every query also attends to itself, so padded rows stay finite (their outputs are meaningless and
/// never influence real tokens). Without a mask: plain causal attention (and, in an incremental step of one token, all cached
/// positions). Attention runs through TorchSharp's <c>scaled_dot_product_attention</c>.</para>
/// <para><b>Precision.</b> RMSNorm computes in float32 and casts back; cos/sin arrive in float32 (or float64) and are cast to the
/// weights' dtype, as Hugging Face does; softmax inside scaled-dot-product attention accumulates in float32 for bf16.</para>
/// </remarks>
public sealed class QwenDecoder : nn.Module
{
#pragma warning disable IDE1006, SA1307, SA1309 // Field names are the Hugging Face parameter names (TorchSharp registers fields by name).
    private readonly QwenEmbedding embed_tokens;
    private readonly ModuleList<QwenDecoderLayer> layers;
    private readonly QwenRmsNorm norm;
#pragma warning restore IDE1006, SA1307, SA1309

    /// <summary>Initializes a new instance of the <see cref="QwenDecoder"/> class with uninitialised weights (load or initialise them).</summary>
    /// <param name="config">The architecture.</param>
    /// <param name="device">The device of the weights, or <see langword="null"/> for the CPU.</param>
    /// <param name="dtype">The dtype of the weights.</param>
    /// <exception cref="ArgumentNullException"><paramref name="config"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">The config is invalid.</exception>
    public QwenDecoder(QwenConfig config, Device? device = null, ScalarType dtype = ScalarType.Float32)
        : base(nameof(QwenDecoder))
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        Config = config;
        Rotary = new QwenRotaryEmbedding(config.EffectiveHeadDim, config.RopeTheta);
        embed_tokens = new QwenEmbedding(config.VocabSize, config.HiddenSize, device, dtype);
        layers = new ModuleList<QwenDecoderLayer>(
            Enumerable.Range(0, config.NumHiddenLayers).Select(i => new QwenDecoderLayer(config, i, device, dtype)).ToArray());
        norm = new QwenRmsNorm(config.HiddenSize, config.RmsNormEps, device, dtype);
        RegisterComponents();
    }

    /// <summary>Gets the architecture.</summary>
    public QwenConfig Config { get; }

    /// <summary>Gets the rotary embedding for text positions (1-D RoPE with the config's θ).</summary>
    public QwenRotaryEmbedding Rotary { get; }

    /// <summary>Gets the token embedding's weight [V, H] (the LM head's weight when tied).</summary>
    public Tensor EmbeddingWeight => embed_tokens.Weight;

    /// <summary>Gets or sets whether training passes recompute each decoder layer in the backward pass instead of keeping its activations.</summary>
    /// <value>The default is <see langword="false"/>. Applies only in training mode, without a KV cache, when gradients are enabled.</value>
    public bool GradientCheckpointing { get; set; }

    /// <summary>Embeds token ids.</summary>
    /// <param name="inputIds">Token ids [B, L], int64, each in [0, V).</param>
    /// <returns>Embeddings [B, L, H].</returns>
    /// <exception cref="ArgumentNullException"><paramref name="inputIds"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="inputIds"/> is not integer [B, L] or holds an id outside [0, V).</exception>
    public Tensor EmbedTokens(Tensor inputIds)
    {
        ArgumentNullException.ThrowIfNull(inputIds);
        if (inputIds.dim() != 2 || inputIds.dtype is not (ScalarType.Int64 or ScalarType.Int32))
        {
            throw new ArgumentException($"inputIds must be int64 or int32 [B, L]; got {inputIds.dtype} [{string.Join(", ", inputIds.shape)}].", nameof(inputIds));
        }

        if (inputIds.NumberOfElements > 0)
        {
            // One reduction and one host read for both bounds (each decoding step passes here), in int64 whatever the ids' type.
            using var scope = NewDisposeScope();
            long[] bounds = stack([inputIds.min(), inputIds.max()]).to(ScalarType.Int64).cpu().data<long>().ToArray();
            if (bounds[0] < 0 || bounds[1] >= Config.VocabSize)
            {
                throw new ArgumentException($"inputIds must lie in [0, {Config.VocabSize}); found {(bounds[0] < 0 ? bounds[0] : bounds[1])}.", nameof(inputIds));
            }
        }

        return embed_tokens.forward(inputIds);
    }

    /// <summary>Runs the decoder layers and the final norm over input embeddings.</summary>
    /// <param name="inputsEmbeds">Input embeddings [B, L, H] in the weights' dtype (token embeddings, possibly with image features spliced in).</param>
    /// <param name="cos">Rotary cos [B, L, d] (from <see cref="QwenRotaryEmbedding.Forward"/> or a multimodal RoPE), any float dtype.</param>
    /// <param name="sin">Rotary sin [B, L, d], like <paramref name="cos"/>.</param>
    /// <param name="attentionMask">The mask [B, L_past + L] over every position so far (1 = token, 0 = padding), or <see langword="null"/> for none.</param>
    /// <param name="cache">The KV cache: its keys and values for the L new positions are appended (L_past = <see cref="KeyValueCache.Length"/> before the call); or <see langword="null"/>.</param>
    /// <returns>The last hidden states [B, L, H] after the final norm.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="inputsEmbeds"/>, <paramref name="cos"/> or <paramref name="sin"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">A shape disagrees (the message names the argument, the expected and the actual shape).</exception>
    public Tensor Forward(Tensor inputsEmbeds, Tensor cos, Tensor sin, Tensor? attentionMask = null, KeyValueCache? cache = null)
    {
        ArgumentNullException.ThrowIfNull(inputsEmbeds);
        ArgumentNullException.ThrowIfNull(cos);
        ArgumentNullException.ThrowIfNull(sin);
        if (inputsEmbeds.dim() != 3 || inputsEmbeds.shape[2] != Config.HiddenSize)
        {
            throw new ArgumentException($"inputsEmbeds must be [B, L, H = {Config.HiddenSize}]; got [{string.Join(", ", inputsEmbeds.shape)}].", nameof(inputsEmbeds));
        }

        long batch = inputsEmbeds.shape[0], length = inputsEmbeds.shape[1];
        long[] rotaryShape = [batch, length, Config.EffectiveHeadDim];
        foreach (var (name, t) in new[] { (nameof(cos), cos), (nameof(sin), sin) })
        {
            if (!t.shape.SequenceEqual(rotaryShape))
            {
                throw new ArgumentException($"{name} must be [B, L, d] = [{string.Join(", ", rotaryShape)}]; got [{string.Join(", ", t.shape)}].", name);
            }
        }

        long past = cache?.Length ?? 0;
        if (attentionMask is not null && (attentionMask.dim() != 2 || attentionMask.shape[0] != batch || attentionMask.shape[1] != past + length))
        {
            throw new ArgumentException(
                $"attentionMask must be [B, L_past + L] = [{batch}, {past + length}] (L_past = {past} cached positions); got [{string.Join(", ", attentionMask.shape)}].",
                nameof(attentionMask));
        }

        using var scope = NewDisposeScope();
        var dtype = inputsEmbeds.dtype;
        var c = cos.to(dtype);
        var s = sin.to(dtype);
        Tensor? mask = null;
        bool causal = false;
        if (attentionMask is not null)
        {
            mask = BuildMask(attentionMask, past, length);
        }
        else if (past > 0 && length > 1)
        {
            mask = BuildMask(ones(batch, past + length, ScalarType.Int64, inputsEmbeds.device), past, length);
        }
        else
        {
            causal = past == 0 && length > 1;
        }

        bool checkpoint = GradientCheckpointing && training && cache is null && is_grad_enabled();
        var hidden = inputsEmbeds;
        if (checkpoint && !hidden.requires_grad)
        {
            // The layer's parameters get gradients only if the function's output requires grad, so its input must.
            hidden = hidden.detach().requires_grad_(true);
        }

        foreach (var layer in layers)
        {
            hidden = checkpoint
                ? QwenCheckpointFunction.apply(hidden, new QwenCheckpointFunction.LayerCall(layer, c, s, mask, causal))
                : layer.Forward(hidden, c, s, mask, causal, cache);
        }

        return norm.forward(hidden).MoveToOuterDisposeScope();
    }

    /// <summary>Boolean [B, 1, L, L_past + L]: key j is visible to query i iff j ≤ L_past + i and (j is not padding or j is i itself).</summary>
    private static Tensor BuildMask(Tensor attentionMask, long past, long length)
    {
        var device = attentionMask.device;
        long total = past + length;
        var query = arange(past, total, ScalarType.Int64, device).view(1, 1, length, 1);
        var key = arange(0, total, ScalarType.Int64, device).view(1, 1, 1, total);
        var notPadding = attentionMask.ne(0).view(attentionMask.shape[0], 1, 1, total);
        return key.le(query).logical_and(notPadding.logical_or(key.eq(query)));
    }
}
