using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Vepa.Models;

/// <summary>
/// The architecture of a Qwen2 / Qwen2.5, Qwen3 or Qwen2-VL language model, as read from a Hugging Face <c>config.json</c>.
/// </summary>
/// <remarks>
/// <para><b>Read</b>: <c>model_type</c> (<c>qwen2</c>, <c>qwen3</c>, <c>qwen2_vl</c>), <c>vocab_size</c>, <c>hidden_size</c>,
/// <c>intermediate_size</c>, <c>num_hidden_layers</c>, <c>num_attention_heads</c>, <c>num_key_value_heads</c>, <c>head_dim</c>
/// (Qwen3; otherwise hidden_size / num_attention_heads), <c>rms_norm_eps</c>, <c>rope_theta</c> (or <c>rope_parameters.rope_theta</c>),
/// <c>tie_word_embeddings</c>, <c>attention_bias</c> (Qwen3; Qwen2 always has q/k/v bias), <c>hidden_act</c>, <c>max_position_embeddings</c>,
/// <c>torch_dtype</c> / <c>dtype</c>, <c>bos_token_id</c>, <c>eos_token_id</c>. For <c>qwen2_vl</c> the text fields may sit in a nested
/// <c>text_config</c>; <c>vision_config</c> and the vision token ids are kept in <see cref="Json"/> for the vision model.</para>
/// <para><b>Rejected</b> (one exception listing every problem): a <c>rope_scaling</c> / <c>rope_parameters</c> type other than
/// default (linear, dynamic, yarn, longrope, llama3 are not implemented; <c>mrope</c> only for <c>qwen2_vl</c>, whose multimodal
/// positions the vision model supplies), <c>use_sliding_window: true</c> or a <c>sliding_attention</c> layer type (sliding-window
/// attention is not implemented), an activation other than <c>silu</c>, a nonzero <c>attention_dropout</c>, and inconsistent sizes.
/// Other fields (initializer_range, use_cache, transformers_version, ...) do not change the forward pass and are ignored.</para>
/// </remarks>
public sealed class QwenConfig
{
    /// <summary>Gets the Hugging Face <c>model_type</c>: <c>qwen2</c>, <c>qwen3</c> or <c>qwen2_vl</c>.</summary>
    public required string ModelType { get; init; }

    /// <summary>Gets the vocabulary size V (rows of the embedding and the LM head).</summary>
    public required int VocabSize { get; init; }

    /// <summary>Gets the hidden size H.</summary>
    public required int HiddenSize { get; init; }

    /// <summary>Gets the MLP's intermediate size.</summary>
    public required int IntermediateSize { get; init; }

    /// <summary>Gets the number of decoder layers.</summary>
    public required int NumHiddenLayers { get; init; }

    /// <summary>Gets the number of query heads.</summary>
    public required int NumAttentionHeads { get; init; }

    /// <summary>Gets the number of key/value heads (grouped-query attention); it divides <see cref="NumAttentionHeads"/>.</summary>
    public required int NumKeyValueHeads { get; init; }

    /// <summary>Gets the per-head size; 0 means <see cref="HiddenSize"/> / <see cref="NumAttentionHeads"/>.</summary>
    /// <value>The default is 0. Qwen3 configs set it explicitly (and it need not equal hidden / heads).</value>
    public int HeadDim { get; init; }

    /// <summary>Gets the RMSNorm epsilon.</summary>
    /// <value>The default is 1e-6.</value>
    public double RmsNormEps { get; init; } = 1e-6;

    /// <summary>Gets the RoPE base θ.</summary>
    /// <value>The default is 10000 (Hugging Face's default; real Qwen checkpoints set 1e6).</value>
    public double RopeTheta { get; init; } = 10000.0;

    /// <summary>Gets whether the LM head shares the token embedding's weight (no <c>lm_head.weight</c> in the snapshot).</summary>
    /// <value>The default is <see langword="false"/>.</value>
    public bool TieWordEmbeddings { get; init; }

    /// <summary>Gets whether q/k/v projections have a bias: always for Qwen2 and Qwen2-VL, <c>attention_bias</c> for Qwen3.</summary>
    public bool AttentionBias => ModelType != "qwen3" || _attentionBias;

    /// <summary>Gets whether attention applies per-head RMSNorm to queries and keys before RoPE (Qwen3).</summary>
    public bool QueryKeyNorm => ModelType == "qwen3";

    /// <summary>Gets the maximum position the model was trained for (informational; longer inputs are not refused).</summary>
    /// <value>The default is 32768.</value>
    public int MaxPositionEmbeddings { get; init; } = 32768;

    /// <summary>Gets the dtype the snapshot's weights are stored in (<c>torch_dtype</c>), for example <c>bfloat16</c>, or <see langword="null"/>.</summary>
    public string? TorchDtype { get; init; }

    /// <summary>Gets the multimodal RoPE sections (temporal, height, width) of a <c>qwen2_vl</c> config, or <see langword="null"/>.</summary>
    public IReadOnlyList<int>? MropeSection { get; init; }

    /// <summary>Gets the parsed <c>config.json</c> this config came from (all fields, including those Vepa does not use), or <see langword="null"/>.</summary>
    /// <remarks>Saving writes it back (with <c>torch_dtype</c> updated), so a saved snapshot keeps fields such as <c>vision_config</c>.
    /// A config built in code may set it to an object without <c>model_type</c> that holds only extra fields (for example a
    /// Qwen2-VL <c>vision_config</c> and token ids): saving then writes the typed properties and adds those fields.</remarks>
    public JsonObject? Json { get; init; }

    /// <summary>Gets the effective per-head size: <see cref="HeadDim"/>, or <see cref="HiddenSize"/> / <see cref="NumAttentionHeads"/>.</summary>
    public int EffectiveHeadDim => HeadDim > 0 ? HeadDim : NumAttentionHeads > 0 ? HiddenSize / NumAttentionHeads : 0;

    /// <summary>Gets the Hugging Face class name of the causal LM (<c>Qwen2ForCausalLM</c>, <c>Qwen3ForCausalLM</c>).</summary>
    public string ArchitectureName => ModelType switch
    {
        "qwen3" => "Qwen3ForCausalLM",
        "qwen2_vl" => "Qwen2VLForConditionalGeneration",
        _ => "Qwen2ForCausalLM",
    };

    /// <summary>Gets the value of <c>attention_bias</c> for Qwen3.</summary>
    /// <value>The default is <see langword="false"/>.</value>
    public bool Qwen3AttentionBias
    {
        get => _attentionBias;
        init => _attentionBias = value;
    }

    private readonly bool _attentionBias;

    /// <summary>Reads <c>config.json</c> from a snapshot folder.</summary>
    /// <param name="folder">The snapshot folder.</param>
    /// <returns>The validated config.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="folder"/> is <see langword="null"/>.</exception>
    /// <exception cref="SnapshotFormatException">The file is missing, not JSON, or names an unsupported model or field.</exception>
    public static QwenConfig FromFolder(string folder)
    {
        ArgumentNullException.ThrowIfNull(folder);
        string path = Path.Combine(folder, "config.json");
        if (!File.Exists(path))
        {
            throw new SnapshotFormatException($"Snapshot folder '{folder}' has no config.json.", path, null);
        }

        return Parse(File.ReadAllText(path), path);
    }

    /// <summary>Parses and validates the text of a <c>config.json</c>.</summary>
    /// <param name="json">The JSON text.</param>
    /// <param name="source">The file it came from, named in errors.</param>
    /// <returns>The validated config.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="json"/> is <see langword="null"/>.</exception>
    /// <exception cref="SnapshotFormatException">The text is not a JSON object, or names an unsupported model or field (every problem listed).</exception>
    public static QwenConfig Parse(string json, string source = "config.json")
    {
        ArgumentNullException.ThrowIfNull(json);
        JsonObject root;
        try
        {
            root = JsonNode.Parse(json) as JsonObject ?? throw new SnapshotFormatException($"Config '{source}' is not a JSON object.", source, null);
        }
        catch (JsonException e)
        {
            throw new SnapshotFormatException($"Config '{source}' is not valid JSON: {e.Message}", source, null, e);
        }

        var problems = new List<string>();
        var missing = new List<string>();
        string? modelType = root["model_type"]?.GetValueKind() == JsonValueKind.String ? root["model_type"]!.GetValue<string>() : null;
        if (modelType is null || !ModelsAssembly.SupportedModelTypes.Contains(modelType))
        {
            throw new SnapshotFormatException(
                $"Config '{source}': model_type '{modelType ?? "(missing)"}' is not supported (supported: {string.Join(", ", ModelsAssembly.SupportedModelTypes)}).", source, "model_type");
        }

        // Qwen2-VL: newer transformers nest the language model's fields in text_config; older snapshots keep them at the root.
        var text = modelType == "qwen2_vl" && root["text_config"] is JsonObject nested ? nested : root;
        JsonNode? Field(string name) => text[name] ?? root[name];

        int Int(string name, int? fallback = null)
        {
            var node = Field(name);
            if (node is null || node.GetValueKind() == JsonValueKind.Null)
            {
                if (fallback is null)
                {
                    problems.Add($"'{name}' is missing");
                    missing.Add($"'{name}' must be positive");
                }

                return fallback ?? 0;
            }

            if (node.GetValueKind() != JsonValueKind.Number || !int.TryParse(node.ToJsonString(), NumberStyles.Integer, CultureInfo.InvariantCulture, out int value))
            {
                problems.Add($"'{name}' must be an integer, got {node.ToJsonString()}");
                return 0;
            }

            return value;
        }

        double Double(JsonNode? node, string name, double fallback)
        {
            if (node is null || node.GetValueKind() == JsonValueKind.Null)
            {
                return fallback;
            }

            if (node.GetValueKind() != JsonValueKind.Number)
            {
                problems.Add($"'{name}' must be a number, got {node.ToJsonString()}");
                return fallback;
            }

            return node.GetValue<double>();
        }

        bool Bool(string name, bool fallback)
        {
            var node = Field(name);
            return node?.GetValueKind() switch
            {
                JsonValueKind.True => true,
                JsonValueKind.False => false,
                null or JsonValueKind.Null => fallback,
                _ => Fail(),
            };

            bool Fail()
            {
                problems.Add($"'{name}' must be true or false, got {node.ToJsonString()}");
                return fallback;
            }
        }

        // RoPE: transformers 4.x writes rope_theta + rope_scaling; 5.x writes rope_parameters {rope_type, rope_theta}.
        var ropeParameters = Field("rope_parameters") as JsonObject;
        double ropeTheta = Double(Field("rope_theta") ?? ropeParameters?["rope_theta"], "rope_theta", 10000.0);
        List<int>? mropeSection = null;
        foreach (var (key, scaling) in new[] { ("rope_scaling", Field("rope_scaling")), ("rope_parameters", (JsonNode?)ropeParameters) })
        {
            if (scaling is null || scaling.GetValueKind() == JsonValueKind.Null)
            {
                continue;
            }

            if (scaling is not JsonObject scalingObject)
            {
                problems.Add($"'{key}' must be an object or null, got {scaling.ToJsonString()}");
                continue;
            }

            string? type = (scalingObject["rope_type"] ?? scalingObject["type"])?.ToString();
            if (type is null or "default")
            {
                continue;
            }

            if (type == "mrope" && modelType == "qwen2_vl")
            {
                mropeSection = scalingObject["mrope_section"] is JsonArray sections ? sections.Select(s => s?.GetValue<int>() ?? 0).ToList() : null;
                if (mropeSection is null)
                {
                    problems.Add($"'{key}' of type mrope needs 'mrope_section'");
                }

                continue;
            }

            problems.Add($"'{key}' type '{type}' is not implemented (supported: null or default{(modelType == "qwen2_vl" ? ", mrope" : string.Empty)})");
        }

        if (Bool("use_sliding_window", false))
        {
            problems.Add("'use_sliding_window' is true: sliding-window attention is not implemented");
        }

        if (Field("layer_types") is JsonArray layerTypes && layerTypes.Any(t => t?.ToString() != "full_attention"))
        {
            problems.Add("'layer_types' lists a layer other than full_attention: sliding-window attention is not implemented");
        }

        string hiddenAct = Field("hidden_act")?.ToString() ?? "silu";
        if (hiddenAct != "silu")
        {
            problems.Add($"'hidden_act' is '{hiddenAct}'; only silu is implemented");
        }

        if (Double(Field("attention_dropout"), "attention_dropout", 0.0) != 0.0)
        {
            problems.Add("'attention_dropout' is nonzero; attention dropout is not implemented");
        }

        var config = new QwenConfig
        {
            ModelType = modelType,
            VocabSize = Int("vocab_size"),
            HiddenSize = Int("hidden_size"),
            IntermediateSize = Int("intermediate_size"),
            NumHiddenLayers = Int("num_hidden_layers"),
            NumAttentionHeads = Int("num_attention_heads"),
            NumKeyValueHeads = Int("num_key_value_heads", Field("num_attention_heads") is null ? null : Int("num_attention_heads")),
            HeadDim = Int("head_dim", 0),
            RmsNormEps = Double(Field("rms_norm_eps"), "rms_norm_eps", 1e-6),
            RopeTheta = ropeTheta,
            TieWordEmbeddings = Bool("tie_word_embeddings", false),
            Qwen3AttentionBias = Bool("attention_bias", false),
            MaxPositionEmbeddings = Int("max_position_embeddings", 32768),
            TorchDtype = (Field("torch_dtype") ?? Field("dtype"))?.ToString(),
            MropeSection = mropeSection,
            Json = root,
        };
        problems.AddRange(config.Problems().Where(p => !missing.Any(m => p.StartsWith(m, StringComparison.Ordinal))));
        if (problems.Count > 0)
        {
            throw new SnapshotFormatException($"Config '{source}' ({modelType}) is not supported: {string.Join("; ", problems)}.", source, null);
        }

        return config;
    }

    /// <summary>Checks the sizes.</summary>
    /// <exception cref="ArgumentException">A size is not positive or the sizes disagree (every problem listed).</exception>
    public void Validate()
    {
        var problems = Problems();
        if (problems.Count > 0)
        {
            throw new ArgumentException($"Invalid QwenConfig: {string.Join("; ", problems)}.");
        }
    }

    /// <summary>Writes the config as <c>config.json</c> text: the original fields when parsed, with <c>torch_dtype</c> set to <paramref name="torchDtype"/>.</summary>
    /// <param name="torchDtype">The dtype of the saved weights (<c>bfloat16</c>, <c>float32</c>, ...), or <see langword="null"/> to keep <see cref="TorchDtype"/>.</param>
    /// <returns>Indented JSON text.</returns>
    public string ToJson(string? torchDtype = null)
    {
        JsonObject json;
        if (Json?["model_type"] is not null)
        {
            json = (JsonObject)Json.DeepClone();
        }
        else
        {
            json = new JsonObject
            {
                ["architectures"] = new JsonArray(ArchitectureName),
                ["model_type"] = ModelType,
                ["vocab_size"] = VocabSize,
                ["hidden_size"] = HiddenSize,
                ["intermediate_size"] = IntermediateSize,
                ["num_hidden_layers"] = NumHiddenLayers,
                ["num_attention_heads"] = NumAttentionHeads,
                ["num_key_value_heads"] = NumKeyValueHeads,
                ["hidden_act"] = "silu",
                ["rms_norm_eps"] = RmsNormEps,
                ["rope_theta"] = RopeTheta,
                ["rope_scaling"] = ModelType == "qwen2_vl" && MropeSection is { } section
                    ? new JsonObject { ["type"] = "mrope", ["mrope_section"] = new JsonArray(section.Select(s => (JsonNode?)s).ToArray()) }
                    : null,
                ["tie_word_embeddings"] = TieWordEmbeddings,
                ["max_position_embeddings"] = MaxPositionEmbeddings,
                ["use_sliding_window"] = false,
                ["attention_dropout"] = 0.0,
            };
            if (ModelType == "qwen3")
            {
                json["head_dim"] = EffectiveHeadDim;
                json["attention_bias"] = Qwen3AttentionBias;
            }

            // A config built in code may carry extra fields in Json (for example a Qwen2-VL vision_config); the typed ones win.
            foreach (var (key, value) in Json?.ToList() ?? [])
            {
                if (!json.ContainsKey(key))
                {
                    json[key] = value?.DeepClone();
                }
            }
        }

        if ((torchDtype ?? TorchDtype) is string dtype)
        {
            json["torch_dtype"] = dtype;
        }

        return json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";
    }

    private List<string> Problems()
    {
        var problems = new List<string>();
        foreach (var (name, value) in new[]
        {
            ("vocab_size", VocabSize), ("hidden_size", HiddenSize), ("intermediate_size", IntermediateSize),
            ("num_hidden_layers", NumHiddenLayers), ("num_attention_heads", NumAttentionHeads), ("num_key_value_heads", NumKeyValueHeads),
        })
        {
            if (value <= 0)
            {
                problems.Add($"'{name}' must be positive, got {value}");
            }
        }

        if (!ModelsAssembly.SupportedModelTypes.Contains(ModelType))
        {
            problems.Add($"'model_type' '{ModelType}' is not supported (supported: {string.Join(", ", ModelsAssembly.SupportedModelTypes)})");
        }

        if (NumAttentionHeads > 0 && NumKeyValueHeads > 0 && NumAttentionHeads % NumKeyValueHeads != 0)
        {
            problems.Add($"'num_attention_heads' ({NumAttentionHeads}) must be a multiple of 'num_key_value_heads' ({NumKeyValueHeads})");
        }

        if (HeadDim < 0)
        {
            problems.Add($"'head_dim' must be positive, got {HeadDim}");
        }

        if (HeadDim == 0 && NumAttentionHeads > 0 && HiddenSize % NumAttentionHeads != 0)
        {
            problems.Add($"'hidden_size' ({HiddenSize}) must be a multiple of 'num_attention_heads' ({NumAttentionHeads}) when 'head_dim' is not given");
        }

        if (EffectiveHeadDim % 2 != 0)
        {
            problems.Add($"the head size ({EffectiveHeadDim}) must be even for rotary embeddings");
        }

        if (!(RmsNormEps > 0))
        {
            problems.Add($"'rms_norm_eps' must be positive, got {RmsNormEps}");
        }

        if (!(RopeTheta > 0))
        {
            problems.Add($"'rope_theta' must be positive, got {RopeTheta}");
        }

        return problems;
    }
}
