using System.Text.Json;
using System.Text.Json.Nodes;

namespace Vepa.Models;

/// <summary>The vision tower of a Qwen2-VL model, as read from <c>config.json</c>'s <c>vision_config</c>.</summary>
/// <remarks>Immutable; thread-safe.</remarks>
public sealed class Qwen2VLVisionConfig
{
    /// <summary>The activations the vision MLP implements (Hugging Face <c>ACT2FN</c> names).</summary>
    internal static readonly string[] SupportedActivations = ["quick_gelu", "gelu", "gelu_pytorch_tanh", "gelu_new", "silu"];

    /// <summary>Gets the number of vision blocks.</summary>
    /// <value>The default is 32 (Qwen2-VL-2B/7B).</value>
    public int Depth { get; init; } = 32;

    /// <summary>Gets the width of the vision blocks.</summary>
    /// <value>The default is 1280.</value>
    public int EmbedDim { get; init; } = 1280;

    /// <summary>Gets the number of attention heads per block.</summary>
    /// <value>The default is 16.</value>
    public int NumHeads { get; init; } = 16;

    /// <summary>Gets the MLP width as a multiple of <see cref="EmbedDim"/>.</summary>
    /// <value>The default is 4.</value>
    public double MlpRatio { get; init; } = 4;

    /// <summary>Gets the number of image channels.</summary>
    /// <value>The default is 3.</value>
    public int InChannels { get; init; } = 3;

    /// <summary>Gets the spatial patch size.</summary>
    /// <value>The default is 14.</value>
    public int PatchSize { get; init; } = 14;

    /// <summary>Gets the spatial merge size of the patch merger.</summary>
    /// <value>The default is 2.</value>
    public int SpatialMergeSize { get; init; } = 2;

    /// <summary>Gets the temporal patch size.</summary>
    /// <value>The default is 2.</value>
    public int TemporalPatchSize { get; init; } = 2;

    /// <summary>Gets the output width of the patch merger: the language model's hidden size.</summary>
    /// <value>The default is 1536 (Qwen2-VL-2B).</value>
    public int HiddenSize { get; init; } = 1536;

    /// <summary>Gets the MLP activation (<c>quick_gelu</c> for Qwen2-VL; <c>gelu</c>, <c>gelu_pytorch_tanh</c>, <c>silu</c> are also implemented).</summary>
    /// <value>The default is <c>quick_gelu</c>.</value>
    public string HiddenAct { get; init; } = "quick_gelu";

    /// <summary>Gets the per-head size, <see cref="EmbedDim"/> / <see cref="NumHeads"/>.</summary>
    public int HeadDim => NumHeads > 0 ? EmbedDim / NumHeads : 0;

    /// <summary>Gets the MLP width, <c>(int)(EmbedDim × MlpRatio)</c>.</summary>
    public int MlpHiddenDim => (int)(EmbedDim * MlpRatio);

    /// <summary>Reads a <c>vision_config</c> object.</summary>
    /// <param name="json">The object.</param>
    /// <param name="source">The file it came from, named in errors.</param>
    /// <returns>The validated config.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="json"/> is <see langword="null"/>.</exception>
    /// <exception cref="SnapshotFormatException">A field has the wrong type, a size is invalid, or the activation is not implemented (every problem listed).</exception>
    public static Qwen2VLVisionConfig Parse(JsonObject json, string source = "config.json")
    {
        ArgumentNullException.ThrowIfNull(json);
        var problems = new List<string>();
        var d = new Qwen2VLVisionConfig();
        int Int(int fallback, params string[] names)
        {
            foreach (string name in names)
            {
                if (json[name] is JsonNode node && node.GetValueKind() != JsonValueKind.Null)
                {
                    if (node.GetValueKind() == JsonValueKind.Number && int.TryParse(node.ToJsonString(), out int v))
                    {
                        return v;
                    }

                    problems.Add($"'vision_config.{name}' must be an integer, got {node.ToJsonString()}");
                    return fallback;
                }
            }

            return fallback;
        }

        double ratio = d.MlpRatio;
        if (json["mlp_ratio"] is JsonNode r)
        {
            if (r.GetValueKind() == JsonValueKind.Number)
            {
                ratio = r.GetValue<double>();
            }
            else
            {
                problems.Add($"'vision_config.mlp_ratio' must be a number, got {r.ToJsonString()}");
            }
        }

        var config = new Qwen2VLVisionConfig
        {
            Depth = Int(d.Depth, "depth"),
            EmbedDim = Int(d.EmbedDim, "embed_dim"),
            NumHeads = Int(d.NumHeads, "num_heads"),
            MlpRatio = ratio,
            InChannels = Int(d.InChannels, "in_chans", "in_channels"),
            PatchSize = Int(d.PatchSize, "patch_size"),
            SpatialMergeSize = Int(d.SpatialMergeSize, "spatial_merge_size"),
            TemporalPatchSize = Int(d.TemporalPatchSize, "temporal_patch_size"),
            HiddenSize = Int(d.HiddenSize, "hidden_size"),
            HiddenAct = json["hidden_act"]?.ToString() ?? d.HiddenAct,
        };
        problems.AddRange(config.Problems());
        if (problems.Count > 0)
        {
            throw new SnapshotFormatException($"Config '{source}': vision_config is not supported: {string.Join("; ", problems)}.", source, null);
        }

        return config;
    }

    /// <summary>Writes the config as a <c>vision_config</c> object with Hugging Face's field names, which <see cref="Parse"/> reads back.</summary>
    /// <returns>A new JSON object.</returns>
    internal JsonObject ToJsonObject() => new()
    {
        ["depth"] = Depth,
        ["embed_dim"] = EmbedDim,
        ["num_heads"] = NumHeads,
        ["mlp_ratio"] = MlpRatio,
        ["in_chans"] = InChannels,
        ["patch_size"] = PatchSize,
        ["spatial_merge_size"] = SpatialMergeSize,
        ["temporal_patch_size"] = TemporalPatchSize,
        ["hidden_size"] = HiddenSize,
        ["hidden_act"] = HiddenAct,
    };

    /// <summary>Checks the sizes and the activation.</summary>
    /// <exception cref="ArgumentException">A size is invalid or the activation is not implemented (every problem listed).</exception>
    public void Validate()
    {
        var problems = Problems();
        if (problems.Count > 0)
        {
            throw new ArgumentException($"Invalid Qwen2VLVisionConfig: {string.Join("; ", problems)}.");
        }
    }

    private List<string> Problems()
    {
        var p = new List<string>();
        foreach (var (name, value) in new[]
        {
            ("depth", Depth), ("embed_dim", EmbedDim), ("num_heads", NumHeads), ("in_chans", InChannels), ("patch_size", PatchSize),
            ("spatial_merge_size", SpatialMergeSize), ("temporal_patch_size", TemporalPatchSize), ("hidden_size", HiddenSize),
        })
        {
            if (value <= 0)
            {
                p.Add($"'vision_config.{name}' must be positive, got {value}");
            }
        }

        if (NumHeads > 0 && EmbedDim % NumHeads != 0)
        {
            p.Add($"'vision_config.embed_dim' ({EmbedDim}) must be a multiple of 'num_heads' ({NumHeads})");
        }
        else if (NumHeads > 0 && HeadDim % 4 != 0)
        {
            p.Add($"the vision head size ({HeadDim}) must be a multiple of 4 for the 2-D rotary embedding");
        }

        if (!(MlpRatio > 0))
        {
            p.Add($"'vision_config.mlp_ratio' must be positive, got {MlpRatio}");
        }

        if (!SupportedActivations.Contains(HiddenAct))
        {
            p.Add($"'vision_config.hidden_act' '{HiddenAct}' is not implemented (supported: {string.Join(", ", SupportedActivations)})");
        }

        return p;
    }
}
