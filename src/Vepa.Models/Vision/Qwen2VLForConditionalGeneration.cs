using System.Text.Json;
using System.Text.Json.Nodes;
using TorchSharp;
using TorchSharp.Modules;
using Vepa.Grpo;
using static TorchSharp.torch;

namespace Vepa.Models;

/// <summary>
/// Qwen2-VL (<c>Qwen2VLForConditionalGeneration</c>): the vision tower (<c>visual.*</c>), the Qwen2 decoder (<c>model.*</c>) with
/// multimodal RoPE, and the LM head (<c>lm_head.weight</c>, or the token embedding when tied). Image features replace the
/// <c>&lt;|image_pad|&gt;</c> token embeddings in prompt order; loads from and saves to Hugging Face snapshot folders.
/// </summary>
/// <remarks>
/// <para><b>Inputs.</b> Token ids with the chat template's <c>&lt;|vision_start|&gt;</c>, one <c>&lt;|image_pad|&gt;</c> per merged
/// patch (<see cref="Qwen2VLImageProcessor.GetImageTokenCount"/>), <c>&lt;|vision_end|&gt;</c>; the images' <c>pixel_values</c> and
/// <c>image_grid_thw</c> from <see cref="Qwen2VLImageProcessor.Process"/>, every image of the batch in order, row by row.</para>
/// <para><b>Positions.</b> In a full pass (or the prefill of a KV cache) the 3-row positions come from
/// <see cref="Qwen2VLPositions.GetRopeIndex"/>; in a cached step each new token's position is its cache position + the row's rope delta
/// (returned by <see cref="GetRopeIndex"/> for the prompt), as Hugging Face does.</para>
/// <para>Snapshots written by transformers ≥ 4.52 (<c>model.language_model.*</c>, <c>model.visual.*</c>) load too; saving writes the
/// published Qwen2-VL names, which every transformers version, vLLM and SGLang read. Not thread-safe; a TorchSharp module.</para>
/// </remarks>
public sealed class Qwen2VLForConditionalGeneration : nn.Module
{
#pragma warning disable IDE1006, SA1307, SA1309 // Field names are the Hugging Face parameter names (TorchSharp registers fields by name).
    private readonly Qwen2VLVisionTransformer visual;
    private readonly QwenDecoder model;
    private readonly QwenLinear? lm_head;
#pragma warning restore IDE1006, SA1307, SA1309

    /// <summary>Initializes a new instance of the <see cref="Qwen2VLForConditionalGeneration"/> class.</summary>
    /// <param name="config">The architecture (<c>qwen2_vl</c>, with <c>mrope_section</c>); the vision tower and token ids come from its <see cref="QwenConfig.Json"/> (<c>vision_config</c>, <c>image_token_id</c>, <c>vision_start_token_id</c>), with Qwen2-VL's defaults where absent.</param>
    /// <param name="device">The device, or <see langword="null"/> for the CPU.</param>
    /// <param name="dtype">The weights' dtype (Float32, BFloat16, Float16 or Float64).</param>
    /// <param name="initialize">Whether to draw random weights (normal(0, 0.02) matrices, zero biases, unit norm weights); <see langword="false"/> leaves them unset for loading.</param>
    /// <exception cref="ArgumentNullException"><paramref name="config"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">The config is not a valid <c>qwen2_vl</c> config, or <paramref name="dtype"/> is not floating point.</exception>
    public Qwen2VLForConditionalGeneration(QwenConfig config, Device? device = null, ScalarType dtype = ScalarType.Float32, bool initialize = true)
        : base(nameof(Qwen2VLForConditionalGeneration))
    {
        ArgumentNullException.ThrowIfNull(config);
        var problems = new List<string>();
        if (config.ModelType != "qwen2_vl")
        {
            problems.Add($"model_type must be qwen2_vl, got '{config.ModelType}'");
        }

        int half = config.EffectiveHeadDim / 2;
        if (config.MropeSection is not { Count: 3 } section || section.Any(s => s < 0) || section.Sum() != half)
        {
            problems.Add($"rope_scaling.mrope_section must have 3 non-negative entries summing to head_dim / 2 = {half}; got [{string.Join(", ", config.MropeSection ?? [])}]");
        }

        if (dtype is not (ScalarType.Float32 or ScalarType.BFloat16 or ScalarType.Float16 or ScalarType.Float64))
        {
            problems.Add($"dtype must be Float32, BFloat16, Float16 or Float64; got {dtype}");
        }

        if (problems.Count > 0)
        {
            throw new ArgumentException($"Cannot build Qwen2VLForConditionalGeneration: {string.Join("; ", problems)}.", nameof(config));
        }

        Config = config;
        var vision = config.Json?["vision_config"] is JsonObject v ? Qwen2VLVisionConfig.Parse(v) : new Qwen2VLVisionConfig { HiddenSize = config.HiddenSize };
        if (vision.HiddenSize != config.HiddenSize)
        {
            throw new ArgumentException($"vision_config.hidden_size ({vision.HiddenSize}) must equal the language model's hidden_size ({config.HiddenSize}).", nameof(config));
        }

        ImageTokenId = TokenId(config, "image_token_id", 151655);
        VisionStartTokenId = TokenId(config, "vision_start_token_id", 151652);
        visual = new Qwen2VLVisionTransformer(vision, device, dtype);
        model = new QwenDecoder(config, device, dtype);
        if (!config.TieWordEmbeddings)
        {
            // Allocated, not initialised: a load overwrites it (nn.Linear would initialise V × H values first).
            lm_head = new QwenLinear(config.HiddenSize, config.VocabSize, false, device, dtype);
        }

        RegisterComponents();
        if (initialize)
        {
            using var noGrad = no_grad();
            foreach (var (name, parameter) in named_parameters())
            {
                _ = name.EndsWith(".bias", StringComparison.Ordinal) ? parameter.zero_()
                    : parameter.dim() == 1 ? parameter.fill_(1.0)
                    : parameter.normal_(0.0, 0.02);
            }
        }
    }

    /// <summary>Gets the language model's architecture (the full <c>config.json</c> is in <see cref="QwenConfig.Json"/>).</summary>
    public QwenConfig Config { get; }

    /// <summary>Gets the vision tower (<c>visual.*</c>).</summary>
    public Qwen2VLVisionTransformer Visual => visual;

    /// <summary>Gets the decoder (<c>model.*</c>).</summary>
    public QwenDecoder Model => model;

    /// <summary>Gets the <c>&lt;|image_pad|&gt;</c> token id (<c>image_token_id</c>).</summary>
    public long ImageTokenId { get; }

    /// <summary>Gets the <c>&lt;|vision_start|&gt;</c> token id (<c>vision_start_token_id</c>).</summary>
    public long VisionStartTokenId { get; }

    /// <summary>Gets the LM head's weight [V, H]: <c>lm_head.weight</c>, or the token embedding when tied.</summary>
    public Tensor LmHeadWeight => lm_head?.Weight ?? model.EmbeddingWeight;

    /// <summary>Gets or sets whether training passes recompute each decoder layer and each vision block in the backward pass (gradient checkpointing).</summary>
    /// <value>The default is <see langword="false"/>.</value>
    public bool GradientCheckpointing
    {
        get => model.GradientCheckpointing;
        set
        {
            model.GradientCheckpointing = value;
            visual.GradientCheckpointing = value;
        }
    }

    /// <summary>Gets or sets the text of <c>generation_config.json</c>, written back by <see cref="SavePretrained"/>; or <see langword="null"/>.</summary>
    public string? GenerationConfigJson { get; set; }

    /// <summary>Gets or sets the snapshot folder the model was loaded from, whose tokenizer and processor files <see cref="SavePretrained"/> copies; or <see langword="null"/>.</summary>
    public string? SourceFolder { get; set; }

    /// <summary>Loads a Qwen2-VL snapshot folder (config.json, generation_config.json, safetensors shards).</summary>
    /// <param name="folder">The snapshot folder (for example from <c>huggingface-cli download Qwen/Qwen2-VL-2B-Instruct --local-dir DIR</c>).</param>
    /// <param name="device">The device, or <see langword="null"/> for the CPU.</param>
    /// <param name="dtype">The weights' dtype; <see langword="null"/> for Float32. Weights convert tensor by tensor while loading.</param>
    /// <returns>The model in evaluation mode.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="folder"/> is <see langword="null"/>.</exception>
    /// <exception cref="SnapshotFormatException">The config or the weights cannot be loaded (the message names the file and the tensor or field).</exception>
    public static Qwen2VLForConditionalGeneration FromPretrained(string folder, Device? device = null, ScalarType? dtype = null)
    {
        ArgumentNullException.ThrowIfNull(folder);
        var config = QwenConfig.FromFolder(folder);
        string configPath = Path.Combine(folder, "config.json");
        if (config.ModelType != "qwen2_vl")
        {
            throw new SnapshotFormatException($"Config '{configPath}' has model_type '{config.ModelType}'; Qwen2VLForConditionalGeneration loads qwen2_vl.", configPath, "model_type");
        }

        Qwen2VLForConditionalGeneration vl;
        try
        {
            vl = new Qwen2VLForConditionalGeneration(config, device, dtype ?? ScalarType.Float32, initialize: false);
        }
        catch (ArgumentException e)
        {
            throw new SnapshotFormatException($"Config '{configPath}': {e.Message}", configPath, null, e);
        }

        try
        {
            vl.LoadWeights(folder);
        }
        catch
        {
            vl.Dispose();
            throw;
        }

        string generation = Path.Combine(folder, "generation_config.json");
        vl.GenerationConfigJson = File.Exists(generation) ? File.ReadAllText(generation) : null;
        vl.SourceFolder = folder;
        vl.eval();
        return vl;
    }

    /// <summary>Loads weights from a snapshot folder into this model (names, shapes and files checked before any weight is copied).</summary>
    /// <param name="folder">The snapshot folder.</param>
    /// <exception cref="ArgumentNullException"><paramref name="folder"/> is <see langword="null"/>.</exception>
    /// <exception cref="SnapshotFormatException">A tensor is missing, unexpected, mis-shaped, truncated or of an unsupported dtype, or a file is missing.</exception>
    public void LoadWeights(string folder)
    {
        ArgumentNullException.ThrowIfNull(folder);
        var targets = HuggingFaceParameters();
        if (UsesNestedNames(folder))
        {
            // transformers >= 4.52 layout: model.language_model.* and model.visual.*; lm_head.weight unchanged.
            targets = targets.ToDictionary(
                p => p.Key.StartsWith("visual.", StringComparison.Ordinal) ? "model." + p.Key
                    : p.Key.StartsWith("model.", StringComparison.Ordinal) ? "model.language_model." + p.Key["model.".Length..]
                    : p.Key,
                p => p.Value,
                StringComparer.Ordinal);
        }

        SafetensorsCheckpoint.Load(
            folder,
            targets,
            name => (Config.TieWordEmbeddings && name == "lm_head.weight") || name.EndsWith(".rotary_emb.inv_freq", StringComparison.Ordinal));
    }

    /// <summary>Gets the parameters by their published Hugging Face names (<c>visual.*</c>, <c>model.*</c>, <c>lm_head.weight</c> unless tied); LoRA adapter parameters (<see cref="LoraAdapters"/>) are left out.</summary>
    /// <returns>A new dictionary of the live parameters.</returns>
    public IReadOnlyDictionary<string, Tensor> HuggingFaceParameters() =>
        named_parameters().Where(p => !LoraLayer.IsAdapterParameter(p.name)).ToDictionary(p => p.name, p => (Tensor)p.parameter, StringComparer.Ordinal);

    /// <summary>Saves the model as a Hugging Face snapshot folder: safetensors weights, config.json (with <c>vision_config</c>) and generation_config.json; tokenizer and processor files are copied from <see cref="SourceFolder"/>.</summary>
    /// <param name="folder">The folder (created if needed).</param>
    /// <param name="maxShardBytes">The largest shard in bytes.</param>
    /// <exception cref="ArgumentNullException"><paramref name="folder"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxShardBytes"/> is not positive.</exception>
    /// <exception cref="InvalidOperationException">The model has LoRA adapters switched on and not merged (<see cref="LoraAdapters.Merge"/> first, or save inside <see cref="LoraAdapters.DisableAdapters"/>).</exception>
    public void SavePretrained(string folder, long maxShardBytes = SafetensorsCheckpoint.DefaultMaxShardBytes)
    {
        ArgumentNullException.ThrowIfNull(folder);
        LoraAdapters.ThrowIfActiveAdapters(this);
        SafetensorsCheckpoint.Save(folder, HuggingFaceParameters(), maxShardBytes);
        File.WriteAllText(Path.Combine(folder, "config.json"), ConfigJson());
        if (GenerationConfigJson is not null)
        {
            File.WriteAllText(Path.Combine(folder, "generation_config.json"), GenerationConfigJson);
        }

        QwenForCausalLM.CopyCompanionFiles(SourceFolder, folder);
    }

    /// <summary>Computes the 3-row M-RoPE positions of prompts and their rope deltas (see <see cref="Qwen2VLPositions.GetRopeIndex"/>) with this model's token ids.</summary>
    /// <param name="inputIds">Token ids [B, L].</param>
    /// <param name="imageGridThw">The images' grids [N, 3], or <see langword="null"/>.</param>
    /// <param name="attentionMask">The mask [B, L], or <see langword="null"/>.</param>
    /// <returns>Positions [3, B, L] and deltas [B].</returns>
    /// <exception cref="ArgumentNullException"><paramref name="inputIds"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">The shapes or the image count disagree.</exception>
    public (Tensor PositionIds, Tensor RopeDeltas) GetRopeIndex(Tensor inputIds, Tensor? imageGridThw, Tensor? attentionMask) =>
        Qwen2VLPositions.GetRopeIndex(inputIds, imageGridThw, attentionMask, ImageTokenId, VisionStartTokenId, visual.Config.SpatialMergeSize);

    /// <summary>Computes the last hidden states of a batch of prompts with images, or of the new tokens of a cached step.</summary>
    /// <param name="inputIds">Token ids [B, L], int64.</param>
    /// <param name="attentionMask">The mask [B, L_past + L] (1 = token, 0 = padding; left or right padding), or <see langword="null"/>.</param>
    /// <param name="pixelValues">The images' patches [Σ t·h·w, C·T·P·P] (all images of the batch in order), or <see langword="null"/> for none. Only in a pass without cached positions.</param>
    /// <param name="imageGridThw">The images' grids [N, 3], with <paramref name="pixelValues"/>.</param>
    /// <param name="cache">The KV cache, or <see langword="null"/>.</param>
    /// <param name="ropeDeltas">The rows' rope deltas [B] from the prompt's <see cref="GetRopeIndex"/>; required for a step after the prompt is cached (unless <paramref name="positionIds"/> is given).</param>
    /// <param name="positionIds">Explicit 3-row positions [3, B, L], or <see langword="null"/> to compute them.</param>
    /// <returns>Hidden states [B, L, H] after the final norm.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="inputIds"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">A shape disagrees; the number of image tokens differs from the number of image features (both named); images are given in a cached step; or a cached step has neither deltas nor positions.</exception>
    public Tensor Forward(
        Tensor inputIds,
        Tensor? attentionMask = null,
        Tensor? pixelValues = null,
        Tensor? imageGridThw = null,
        KeyValueCache? cache = null,
        Tensor? ropeDeltas = null,
        Tensor? positionIds = null)
    {
        ArgumentNullException.ThrowIfNull(inputIds);
        if ((pixelValues is null) != (imageGridThw is null))
        {
            throw new ArgumentException("pixelValues and imageGridThw come together: give both or neither.", pixelValues is null ? nameof(pixelValues) : nameof(imageGridThw));
        }

        using var scope = NewDisposeScope();
        long past = cache?.Length ?? 0, batch = inputIds.shape[0], length = inputIds.dim() == 2 ? inputIds.shape[1] : 0;
        if (pixelValues is not null && past > 0)
        {
            throw new ArgumentException($"Images belong in the prompt pass; this is a cached step ({past} positions cached).", nameof(pixelValues));
        }

        var embeds = model.EmbedTokens(inputIds);
        if (pixelValues is not null)
        {
            embeds = ScatterImageFeatures(inputIds, embeds, visual.Forward(pixelValues, imageGridThw!));
        }
        else if (past == 0)
        {
            long placeholders = inputIds.eq(ImageTokenId).sum().item<long>();
            if (placeholders > 0)
            {
                throw new ArgumentException($"inputIds hold {placeholders} image tokens (id {ImageTokenId}) but no pixelValues were given.", nameof(pixelValues));
            }
        }

        if (positionIds is null)
        {
            if (past == 0)
            {
                positionIds = GetRopeIndex(inputIds, imageGridThw, attentionMask).PositionIds;
            }
            else
            {
                if (ropeDeltas is null)
                {
                    throw new ArgumentException(
                        $"A cached step ({past} positions cached) needs the prompt's rope deltas (from GetRopeIndex) or explicit positionIds.", nameof(ropeDeltas));
                }

                if (!ropeDeltas.shape.SequenceEqual([batch]) && !ropeDeltas.shape.SequenceEqual([batch, 1]))
                {
                    throw new ArgumentException($"ropeDeltas must be [B] = [{batch}]; got [{string.Join(", ", ropeDeltas.shape)}].", nameof(ropeDeltas));
                }

                var steps = arange(past, past + length, ScalarType.Int64, inputIds.device).unsqueeze(0) + ropeDeltas.to(ScalarType.Int64).view(batch, 1);
                positionIds = steps.unsqueeze(0).expand(3, batch, length);
            }
        }
        else if (!positionIds.shape.SequenceEqual([3, batch, length]))
        {
            throw new ArgumentException($"positionIds must be [3, B, L] = [3, {batch}, {length}]; got [{string.Join(", ", positionIds.shape)}].", nameof(positionIds));
        }

        var rotaryType = embeds.dtype == ScalarType.Float64 ? ScalarType.Float64 : ScalarType.Float32;
        var (cos, sin) = Qwen2VLPositions.MultimodalCosSin(positionIds.to(embeds.device), Config.MropeSection!, Config.EffectiveHeadDim, Config.RopeTheta, rotaryType);
        return model.Forward(embeds, cos, sin, attentionMask, cache).MoveToOuterDisposeScope();
    }

    /// <summary>Projects hidden states to logits with the LM head.</summary>
    /// <param name="hidden">Hidden states [..., H].</param>
    /// <returns>Logits [..., V].</returns>
    /// <exception cref="ArgumentNullException"><paramref name="hidden"/> is <see langword="null"/>.</exception>
    public Tensor ComputeLogits(Tensor hidden)
    {
        ArgumentNullException.ThrowIfNull(hidden);
        return nn.functional.linear(hidden, LmHeadWeight);
    }

    /// <summary>
    /// The <c>config.json</c> text to save: the language model's fields, plus what this model was built with and a config built in
    /// code does not carry (the vision tower and the image and vision-start token ids), so that the saved snapshot loads back.
    /// </summary>
    private string ConfigJson()
    {
        var json = (JsonObject)JsonNode.Parse(Config.ToJson(SafetensorsDtypes.ConfigName(LmHeadWeight.dtype)))!;
        json["vision_config"] ??= visual.Config.ToJsonObject();
        if (json["image_token_id"] is null && (json["text_config"] as JsonObject)?["image_token_id"] is null)
        {
            json["image_token_id"] = ImageTokenId;
        }

        if (json["vision_start_token_id"] is null && (json["text_config"] as JsonObject)?["vision_start_token_id"] is null)
        {
            json["vision_start_token_id"] = VisionStartTokenId;
        }

        return json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";
    }

    private static long TokenId(QwenConfig config, string name, long fallback)
    {
        var text = config.Json?["text_config"] as JsonObject;
        var node = config.Json?[name] ?? text?[name];
        return node is JsonValue value && value.TryGetValue(out long id) ? id : fallback;
    }

    private static bool UsesNestedNames(string folder)
    {
        string index = Path.Combine(folder, SafetensorsCheckpoint.IndexFileName);
        string single = Path.Combine(folder, SafetensorsCheckpoint.SingleFileName);
        IEnumerable<string> names = File.Exists(index) && JsonNode.Parse(File.ReadAllText(index))?["weight_map"] is JsonObject map
            ? map.Select(p => p.Key)
            : File.Exists(single) ? SafetensorsFile.Open(single).Entries.Keys : [];
        return names.Any(n => n.StartsWith("model.language_model.", StringComparison.Ordinal));
    }

    /// <summary>Replaces the embeddings at image-token positions (row-major over the batch) by the image features, in order.</summary>
    private Tensor ScatterImageFeatures(Tensor inputIds, Tensor embeds, Tensor features)
    {
        var where = inputIds.eq(ImageTokenId).view(-1).nonzero().squeeze(1);
        long tokens = where.shape[0], count = features.shape[0];
        if (tokens != count)
        {
            throw new ArgumentException(
                $"Image features and image tokens do not match: inputIds hold {tokens} image tokens (id {ImageTokenId}), the images give {count} features (Σ t·h·w / {visual.Config.SpatialMergeSize * visual.Config.SpatialMergeSize}).", nameof(inputIds));
        }

        long h = embeds.shape[2];
        return embeds.reshape(-1, h).index_copy(0, where.to(embeds.device), features.to(embeds.dtype)).view(embeds.shape);
    }
}
