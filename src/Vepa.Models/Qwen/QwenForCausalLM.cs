using System.Text.Json.Nodes;
using TorchSharp;
using TorchSharp.Modules;
using Vepa.Grpo;
using static TorchSharp.torch;

namespace Vepa.Models;

/// <summary>
/// A Qwen2 / Qwen2.5 (<c>Qwen2ForCausalLM</c>) or Qwen3 (<c>Qwen3ForCausalLM</c>) causal language model: the <see cref="QwenDecoder"/>
/// (<c>model.*</c>) and an LM head (<c>lm_head.weight</c>, or the token embedding when <c>tie_word_embeddings</c>). Loads from and saves
/// to Hugging Face snapshot folders with the published parameter names.
/// </summary>
/// <remarks>
/// <para><see cref="Forward"/> returns the last hidden states, not logits: a trainer computes log-probs from hidden states and
/// <see cref="LmHeadWeight"/> without forming [B, T, V]. <see cref="ComputeLogits"/> forms them where wanted (tests, small vocabularies).</para>
/// <para><b>Positions</b> default to <see cref="QwenPositions.FromAttentionMask"/> (Hugging Face's <c>cumsum(mask) − 1</c>) when a mask is
/// given, else to L_past, L_past + 1, ....</para>
/// <para>Not thread-safe; a TorchSharp module.</para>
/// </remarks>
public sealed class QwenForCausalLM : nn.Module
{
    /// <summary>The tokenizer, chat-template and processor files <see cref="SavePretrained"/> copies from the folder the model was loaded from.</summary>
    private static readonly string[] CompanionFiles =
    [
        "tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt", "special_tokens_map.json", "added_tokens.json",
        "chat_template.json", "chat_template.jinja", "preprocessor_config.json",
    ];

#pragma warning disable IDE1006, SA1307, SA1309 // Field names are the Hugging Face parameter names (TorchSharp registers fields by name).
    private readonly QwenDecoder model;
    private readonly QwenLinear? lm_head;
#pragma warning restore IDE1006, SA1307, SA1309

    /// <summary>Initializes a new instance of the <see cref="QwenForCausalLM"/> class.</summary>
    /// <param name="config">The architecture (<c>qwen2</c> or <c>qwen3</c>).</param>
    /// <param name="device">The device of the weights, or <see langword="null"/> for the CPU.</param>
    /// <param name="dtype">The dtype of the weights (Float32, BFloat16, Float16 or Float64).</param>
    /// <param name="initialize">Whether to draw random weights as Hugging Face initialises them (normal(0, 0.02) matrices, zero biases, unit norms); <see langword="false"/> leaves them unset for loading.</param>
    /// <exception cref="ArgumentNullException"><paramref name="config"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">The config is invalid or not a text model, or <paramref name="dtype"/> is not floating point.</exception>
    public QwenForCausalLM(QwenConfig config, Device? device = null, ScalarType dtype = ScalarType.Float32, bool initialize = true)
        : base(nameof(QwenForCausalLM))
    {
        ArgumentNullException.ThrowIfNull(config);
        if (config.ModelType is not ("qwen2" or "qwen3"))
        {
            throw new ArgumentException($"QwenForCausalLM loads model_type qwen2 or qwen3; got '{config.ModelType}' (Qwen2-VL has its own model class).", nameof(config));
        }

        if (dtype is not (ScalarType.Float32 or ScalarType.BFloat16 or ScalarType.Float16 or ScalarType.Float64))
        {
            throw new ArgumentException($"dtype must be Float32, BFloat16, Float16 or Float64; got {dtype}.", nameof(dtype));
        }

        model = new QwenDecoder(config, device, dtype);
        if (!config.TieWordEmbeddings)
        {
            lm_head = new QwenLinear(config.HiddenSize, config.VocabSize, false, device, dtype);
        }

        RegisterComponents();
        if (initialize)
        {
            InitializeWeights(this, 0.02);
        }
    }

    /// <summary>Gets the architecture.</summary>
    public QwenConfig Config => model.Config;

    /// <summary>Gets the decoder (<c>model.*</c>).</summary>
    public QwenDecoder Model => model;

    /// <summary>Gets the LM head's weight [V, H]: <c>lm_head.weight</c>, or the token embedding when tied.</summary>
    public Tensor LmHeadWeight => lm_head?.Weight ?? model.EmbeddingWeight;

    /// <summary>Gets or sets whether training passes recompute each decoder layer in the backward pass (gradient checkpointing).</summary>
    /// <value>The default is <see langword="false"/>.</value>
    public bool GradientCheckpointing
    {
        get => model.GradientCheckpointing;
        set => model.GradientCheckpointing = value;
    }

    /// <summary>Gets or sets the text of <c>generation_config.json</c> (stop ids, sampling defaults), written back by <see cref="SavePretrained"/>; <see langword="null"/> writes one from the config's token ids.</summary>
    public string? GenerationConfigJson { get; set; }

    /// <summary>Gets or sets the snapshot folder the model was loaded from, whose tokenizer files <see cref="SavePretrained"/> copies; or <see langword="null"/>.</summary>
    public string? SourceFolder { get; set; }

    /// <summary>Loads a Qwen2 / Qwen2.5 / Qwen3 snapshot folder (config.json, generation_config.json, safetensors shards).</summary>
    /// <param name="folder">The snapshot folder (for example from <c>huggingface-cli download Qwen/Qwen2.5-0.5B-Instruct --local-dir DIR</c>).</param>
    /// <param name="device">The device, or <see langword="null"/> for the CPU.</param>
    /// <param name="dtype">The weights' dtype; <see langword="null"/> for Float32. Weights convert tensor by tensor while loading.</param>
    /// <returns>The model in evaluation mode.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="folder"/> is <see langword="null"/>.</exception>
    /// <exception cref="SnapshotFormatException">The config or the weights cannot be loaded (the message names the file and the tensor or field).</exception>
    public static QwenForCausalLM FromPretrained(string folder, Device? device = null, ScalarType? dtype = null)
    {
        ArgumentNullException.ThrowIfNull(folder);
        var config = QwenConfig.FromFolder(folder);
        if (config.ModelType is not ("qwen2" or "qwen3"))
        {
            throw new SnapshotFormatException(
                $"Config '{Path.Combine(folder, "config.json")}' has model_type '{config.ModelType}'; QwenForCausalLM loads qwen2 or qwen3.", Path.Combine(folder, "config.json"), "model_type");
        }

        var lm = new QwenForCausalLM(config, device, dtype ?? ScalarType.Float32, initialize: false);
        try
        {
            lm.LoadWeights(folder);
        }
        catch
        {
            lm.Dispose();
            throw;
        }

        string generation = Path.Combine(folder, "generation_config.json");
        lm.GenerationConfigJson = File.Exists(generation) ? File.ReadAllText(generation) : null;
        lm.SourceFolder = folder;
        lm.eval();
        return lm;
    }

    /// <summary>Loads weights from a snapshot folder into this model (names, shapes and files checked before any weight is copied).</summary>
    /// <param name="folder">The snapshot folder.</param>
    /// <exception cref="ArgumentNullException"><paramref name="folder"/> is <see langword="null"/>.</exception>
    /// <exception cref="SnapshotFormatException">A tensor is missing, unexpected, mis-shaped, truncated or of an unsupported dtype, or a file is missing.</exception>
    /// <remarks>
    /// With tied embeddings a stored <c>lm_head.weight</c> is ignored (some exports include it); a legacy <c>*.rotary_emb.inv_freq</c>
    /// buffer is ignored too (it is recomputed).
    /// </remarks>
    public void LoadWeights(string folder)
    {
        ArgumentNullException.ThrowIfNull(folder);
        SafetensorsCheckpoint.Load(
            folder,
            HuggingFaceParameters(),
            name => (Config.TieWordEmbeddings && name == "lm_head.weight") || name.EndsWith(".rotary_emb.inv_freq", StringComparison.Ordinal));
    }

    /// <summary>Gets the parameters by their Hugging Face names (<c>model.embed_tokens.weight</c>, ..., <c>lm_head.weight</c> unless tied); LoRA adapter parameters (<see cref="LoraAdapters"/>) are left out.</summary>
    /// <returns>A new dictionary of the live parameters.</returns>
    public IReadOnlyDictionary<string, Tensor> HuggingFaceParameters() =>
        named_parameters().Where(p => !LoraLayer.IsAdapterParameter(p.name)).ToDictionary(p => p.name, p => (Tensor)p.parameter, StringComparer.Ordinal);

    /// <summary>Saves the model as a Hugging Face snapshot folder: safetensors weights (sharded with an index above <paramref name="maxShardBytes"/>), config.json and generation_config.json.</summary>
    /// <param name="folder">The folder (created if needed).</param>
    /// <param name="maxShardBytes">The largest shard in bytes.</param>
    /// <remarks>
    /// Weights are written in their current dtype, and <c>torch_dtype</c> in config.json says which. Tokenizer and chat-template
    /// files are copied from <see cref="SourceFolder"/> when set, so the folder serves directly in transformers, vLLM or SGLang.
    /// </remarks>
    /// <exception cref="ArgumentNullException"><paramref name="folder"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxShardBytes"/> is not positive.</exception>
    /// <exception cref="InvalidOperationException">The model has LoRA adapters switched on and not merged (<see cref="LoraAdapters.Merge"/> first, or save inside <see cref="LoraAdapters.DisableAdapters"/>).</exception>
    public void SavePretrained(string folder, long maxShardBytes = SafetensorsCheckpoint.DefaultMaxShardBytes)
    {
        ArgumentNullException.ThrowIfNull(folder);
        LoraAdapters.ThrowIfActiveAdapters(this);
        SafetensorsCheckpoint.Save(folder, HuggingFaceParameters(), maxShardBytes);
        File.WriteAllText(Path.Combine(folder, "config.json"), Config.ToJson(SafetensorsDtypes.ConfigName(LmHeadWeight.dtype)));
        File.WriteAllText(Path.Combine(folder, "generation_config.json"), GenerationConfigJson ?? DefaultGenerationConfig());
        CopyCompanionFiles(SourceFolder, folder);
    }

    /// <summary>Copies the tokenizer, chat-template and processor files of a source snapshot folder (when set and different) into <paramref name="folder"/>.</summary>
    internal static void CopyCompanionFiles(string? sourceFolder, string folder)
    {
        if (sourceFolder is null || Path.GetFullPath(sourceFolder) == Path.GetFullPath(folder))
        {
            return;
        }

        foreach (string file in CompanionFiles)
        {
            string source = Path.Combine(sourceFolder, file);
            if (File.Exists(source))
            {
                File.Copy(source, Path.Combine(folder, file), overwrite: true);
            }
        }
    }

    /// <summary>Computes the last hidden states for token ids.</summary>
    /// <param name="inputIds">Token ids [B, L], int64.</param>
    /// <param name="attentionMask">The mask [B, L_past + L] (1 = token, 0 = padding; left or right padding), or <see langword="null"/>.</param>
    /// <param name="positionIds">Positions [B, L], or <see langword="null"/> for the default (see remarks of the class).</param>
    /// <param name="cache">The KV cache for incremental decoding, or <see langword="null"/>.</param>
    /// <returns>Hidden states [B, L, H] after the final norm.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="inputIds"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">A shape or an id is out of range.</exception>
    public Tensor Forward(Tensor inputIds, Tensor? attentionMask = null, Tensor? positionIds = null, KeyValueCache? cache = null)
    {
        using var scope = NewDisposeScope();
        var embeds = model.EmbedTokens(inputIds);
        return ForwardEmbeddings(embeds, attentionMask, positionIds, cache).MoveToOuterDisposeScope();
    }

    /// <summary>Computes the last hidden states for input embeddings.</summary>
    /// <param name="inputsEmbeds">Embeddings [B, L, H] in the weights' dtype.</param>
    /// <param name="attentionMask">The mask [B, L_past + L], or <see langword="null"/>.</param>
    /// <param name="positionIds">Positions [B, L], or <see langword="null"/> for the default.</param>
    /// <param name="cache">The KV cache, or <see langword="null"/>.</param>
    /// <returns>Hidden states [B, L, H].</returns>
    /// <exception cref="ArgumentNullException"><paramref name="inputsEmbeds"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">A shape disagrees.</exception>
    public Tensor ForwardEmbeddings(Tensor inputsEmbeds, Tensor? attentionMask = null, Tensor? positionIds = null, KeyValueCache? cache = null)
    {
        ArgumentNullException.ThrowIfNull(inputsEmbeds);
        if (inputsEmbeds.dim() != 3)
        {
            throw new ArgumentException($"inputsEmbeds must be [B, L, H]; got [{string.Join(", ", inputsEmbeds.shape)}].", nameof(inputsEmbeds));
        }

        using var scope = NewDisposeScope();
        long batch = inputsEmbeds.shape[0], length = inputsEmbeds.shape[1], past = cache?.Length ?? 0;
        if (positionIds is null)
        {
            positionIds = attentionMask is not null && attentionMask.dim() == 2 && attentionMask.shape[1] == past + length
                ? QwenPositions.FromAttentionMask(attentionMask, length)
                : arange(past, past + length, ScalarType.Int64, inputsEmbeds.device).unsqueeze(0).expand(batch, length);
        }
        else if (!positionIds.shape.SequenceEqual([batch, length]))
        {
            throw new ArgumentException($"positionIds must be [B, L] = [{batch}, {length}]; got [{string.Join(", ", positionIds.shape)}].", nameof(positionIds));
        }

        var (cos, sin) = model.Rotary.Forward(positionIds, inputsEmbeds.dtype == ScalarType.Float64 ? ScalarType.Float64 : ScalarType.Float32);
        return model.Forward(inputsEmbeds, cos, sin, attentionMask, cache).MoveToOuterDisposeScope();
    }

    /// <summary>Projects hidden states to logits with the LM head: <c>hidden · W_headᵀ</c>.</summary>
    /// <param name="hidden">Hidden states [..., H].</param>
    /// <returns>Logits [..., V]. Large for real vocabularies; a trainer should not form them for whole sequences.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="hidden"/> is <see langword="null"/>.</exception>
    public Tensor ComputeLogits(Tensor hidden)
    {
        ArgumentNullException.ThrowIfNull(hidden);
        return nn.functional.linear(hidden, LmHeadWeight);
    }

    /// <summary>Draws weights as Hugging Face's <c>_init_weights</c> does: normal(0, std) for linear and embedding matrices, zero biases, unit norm weights.</summary>
    internal static void InitializeWeights(nn.Module module, double std)
    {
        using var noGrad = no_grad();
        foreach (var (name, parameter) in module.named_parameters())
        {
            if (name.EndsWith("norm.weight", StringComparison.Ordinal))
            {
                parameter.fill_(1.0);
            }
            else if (name.EndsWith(".bias", StringComparison.Ordinal))
            {
                parameter.zero_();
            }
            else
            {
                parameter.normal_(0.0, std);
            }
        }
    }

    private string DefaultGenerationConfig()
    {
        var json = new JsonObject { ["_from_model_config"] = true };
        foreach (string key in new[] { "bos_token_id", "eos_token_id", "pad_token_id" })
        {
            if (Config.Json?[key] is JsonNode value)
            {
                json[key] = value.DeepClone();
            }
        }

        return json.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }) + "\n";
    }
}
