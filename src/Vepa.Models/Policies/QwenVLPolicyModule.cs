using TorchSharp;
using Vepa.Grpo;
using static TorchSharp.torch;

namespace Vepa.Models;

/// <summary>
/// <see cref="Qwen2VLForConditionalGeneration"/> as a <see cref="PolicyModule"/> with interleaved images: each prompt carries its
/// images as <see cref="PolicyPrompt.ModelInputs"/> (<c>pixel_values</c>, <c>image_grid_thw</c>) and its chat-formatted token ids
/// hold the matching <c>&lt;|image_pad|&gt;</c> runs. On the first pass the vision tower encodes each distinct prompt's images once,
/// the features replace the placeholder embeddings of the prompt columns, and the 3-row multimodal positions come from
/// <see cref="Qwen2VLPositions.GetRopeIndex"/> over the prompt columns; completion columns (and cached decoding steps) are text at
/// column + rope delta, Hugging Face's <c>cache_position + rope_deltas</c>. The delta is kept in <see cref="KeyValueCache.PositionOffset"/>.
/// State names are the Hugging Face names (<c>visual.*</c>, <c>model.*</c>, <c>lm_head.weight</c>).
/// </summary>
internal sealed class QwenVLPolicyModule : QwenPolicyModuleBase<Qwen2VLForConditionalGeneration>
{
    public const string PixelValues = "pixel_values";

    public const string ImageGridThw = "image_grid_thw";

    public QwenVLPolicyModule(Qwen2VLForConditionalGeneration model)
        : base(nameof(Qwen2VLForConditionalGeneration), model)
    {
    }

    public override Tensor LmHeadWeight => Model.LmHeadWeight;

    public override Tensor Forward(PolicyForwardInputs inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        if (inputs.Prefix is not null)
        {
            throw new ArgumentException("A Qwen2-VL policy takes its images through PolicyPrompt.ModelInputs (pixel_values, image_grid_thw), not prefix embeddings (PolicyPrompt.Inputs).", nameof(inputs));
        }

        using var scope = NewDisposeScope();
        var ids = inputs.TokenIds;
        long batch = ids.shape[0], length = ids.shape[1];
        var cache = inputs.Cache;
        long past = cache?.Length ?? 0;
        var mask = inputs.AttentionMask ?? ones(batch, past + length, ScalarType.Int64, ids.device);
        var embeds = Model.Model.EmbedTokens(ids);
        Tensor positions;
        if (past == 0)
        {
            long prompt = inputs.PromptLength;
            var grids = ScatterImages(inputs.Prompts, ids, prompt, ref embeds);
            var (promptPositions, deltas) = Model.GetRopeIndex(ids.narrow(1, 0, prompt), grids, mask.narrow(1, 0, prompt));
            deltas = deltas.reshape(batch).to(ScalarType.Int64).to(ids.device);
            positions = promptPositions.to(ScalarType.Int64).to(ids.device);
            if (prompt < length)
            {
                // Completion columns are text: column + delta on all three rows.
                var text = arange(prompt, length, ScalarType.Int64, ids.device).unsqueeze(0) + deltas.unsqueeze(1);
                positions = cat([positions, text.unsqueeze(0).expand(3, batch, length - prompt)], 2);
            }

            if (cache is not null)
            {
                cache.PositionOffset = deltas;
            }
        }
        else
        {
            var deltas = cache!.PositionOffset
                ?? throw new InvalidOperationException("A cached Qwen2-VL step needs the rope deltas of the first pass; the cache has none.");
            var steps = arange(past, past + length, ScalarType.Int64, ids.device).unsqueeze(0) + deltas.unsqueeze(1);
            positions = steps.unsqueeze(0).expand(3, batch, length);
        }

        var rotaryType = embeds.dtype == ScalarType.Float64 ? ScalarType.Float64 : ScalarType.Float32;
        var config = Model.Config;
        var (cos, sin) = Qwen2VLPositions.MultimodalCosSin(positions, config.MropeSection!, config.EffectiveHeadDim, config.RopeTheta, rotaryType);
        return Model.Model.Forward(embeds, cos, sin, mask, cache).MoveToOuterDisposeScope();
    }

    public override PolicyModule CloneArchitecture() => new QwenVLPolicyModule(
        new Qwen2VLForConditionalGeneration(Model.Config, initialize: false)
        {
            GenerationConfigJson = Model.GenerationConfigJson,
            SourceFolder = Model.SourceFolder,
        });

    /// <summary>
    /// Encodes every distinct prompt's images once and writes the features over the placeholder embeddings of the prompt columns,
    /// row by row; returns the grids of every row's images in row order (for the rope index), or <see langword="null"/> for none.
    /// </summary>
    private Tensor? ScatterImages(IReadOnlyList<PolicyPrompt> prompts, Tensor ids, long promptLength, ref Tensor embeds)
    {
        var distinct = new List<PolicyPrompt>();
        var index = new Dictionary<PolicyPrompt, int>(ReferenceEqualityComparer.Instance);
        foreach (var prompt in prompts)
        {
            if (ImagesOf(prompt) is not null && !index.ContainsKey(prompt))
            {
                index.Add(prompt, distinct.Count);
                distinct.Add(prompt);
            }
        }

        if (distinct.Count == 0)
        {
            return null;
        }

        var images = distinct.Select(p => ImagesOf(p)!.Value).ToArray();
        var device = embeds.device;
        var features = Model.Visual.Forward(cat(images.Select(i => i.Pixels.to(device)).ToArray(), 0), cat(images.Select(i => i.Grid).ToArray(), 0));
        long merge = (long)Model.Visual.Config.SpatialMergeSize * Model.Visual.Config.SpatialMergeSize;
        var counts = images.Select(i => i.Grid.prod(1).sum().item<long>() / merge).ToArray();
        var offsets = new long[counts.Length];
        for (int i = 1; i < counts.Length; i++)
        {
            offsets[i] = offsets[i - 1] + counts[i - 1];
        }

        long length = ids.shape[1];
        var placeholders = ids.narrow(1, 0, promptLength).eq(Model.ImageTokenId).cpu();
        var slots = new List<long>();
        var sources = new List<long>();
        var grids = new List<Tensor>();
        for (int r = 0; r < prompts.Count; r++)
        {
            var rowSlots = placeholders[r].nonzero().reshape(-1).data<long>().ToArray();
            if (!index.TryGetValue(prompts[r], out int p))
            {
                if (rowSlots.Length > 0)
                {
                    throw new ArgumentException($"Row {r} (prompt \"{prompts[r].Id ?? prompts[r].Question}\") has {rowSlots.Length} image tokens (id {Model.ImageTokenId}) but no {PixelValues}.", nameof(prompts));
                }

                continue;
            }

            if (rowSlots.Length != counts[p])
            {
                throw new ArgumentException(
                    $"Row {r} (prompt \"{prompts[r].Id ?? prompts[r].Question}\") has {rowSlots.Length} image tokens (id {Model.ImageTokenId}) but its images give {counts[p]} features (Σ t·h·w / {merge}).",
                    nameof(prompts));
            }

            slots.AddRange(rowSlots.Select(s => (r * length) + s));
            sources.AddRange(Enumerable.Range(0, (int)counts[p]).Select(k => offsets[p] + k));
            grids.Add(images[p].Grid);
        }

        long hidden = embeds.shape[2];
        var rowFeatures = features.index_select(0, tensor(sources.ToArray(), device: features.device)).to(embeds.dtype);
        embeds = embeds.reshape(-1, hidden).index_copy(0, tensor(slots.ToArray(), device: device), rowFeatures).view(embeds.shape);
        return cat(grids, 0);
    }

    /// <summary>Reads a prompt's pixel values and grid from its model inputs, or <see langword="null"/> when it has none.</summary>
    private static (Tensor Pixels, Tensor Grid)? ImagesOf(PolicyPrompt prompt)
    {
        var inputs = prompt.ModelInputs;
        if (inputs is null || !inputs.TryGetValue(PixelValues, out var pixels))
        {
            return null;
        }

        if (!inputs.TryGetValue(ImageGridThw, out var grid))
        {
            throw new ArgumentException($"Prompt \"{prompt.Id ?? prompt.Question}\" has {PixelValues} but no {ImageGridThw}; they come together.", "prompts");
        }

        return (pixels, grid.to(ScalarType.Int64).cpu());
    }
}
