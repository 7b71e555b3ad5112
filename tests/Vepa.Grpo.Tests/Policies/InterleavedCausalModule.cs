using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Vepa.Grpo.Tests.Policies;

/// <summary>
/// A tiny decoder for the padded, interleaved-image form of the contract (<see cref="PolicyModule.Forward(PolicyForwardInputs)"/>):
/// it honours the attention mask and reads position ids, optionally with a KV cache. Prompts may carry "images" as
/// <c>ModelInputs["pixel_values"]</c> [N, 4], one row per placeholder token <see cref="ImageToken"/> in the prompt; their linear
/// features replace those tokens' embeddings (in the prompt columns only: a sampled placeholder id is text). Its own position scheme, like Qwen2-VL's multimodal RoPE, gives every token of an
/// image run the same position, so a row's positions end below its length; the per-row difference (the rope delta) is kept in
/// <see cref="KeyValueCache.PositionOffset"/> for cached decoding steps.
/// </summary>
internal sealed class InterleavedCausalModule : PolicyModule
{
    private readonly int _vocabulary;
    private readonly int _hidden;
    private readonly bool _cache;
    private readonly Embedding embed;
    private readonly Parameter positions;
    private readonly Linear query;
    private readonly Linear key;
    private readonly Linear value;
    private readonly Linear mlp;
    private readonly Linear vision;
    private readonly Parameter head;

    public InterleavedCausalModule(int vocabulary, int hidden, long seed, long imageToken, bool cache = true)
        : base(nameof(InterleavedCausalModule))
    {
        _vocabulary = vocabulary;
        _hidden = hidden;
        _cache = cache;
        ImageToken = imageToken;
        embed = nn.Embedding(vocabulary, hidden);
        positions = new Parameter(zeros(64, hidden));
        query = nn.Linear(hidden, hidden);
        key = nn.Linear(hidden, hidden);
        value = nn.Linear(hidden, hidden);
        mlp = nn.Linear(hidden, hidden);
        vision = nn.Linear(4, hidden);
        head = new Parameter(zeros(vocabulary, hidden));
        RegisterComponents();
        using var generator = new Generator((ulong)seed);
        using (no_grad())
        {
            foreach (var (name, p) in named_parameters())
            {
                double scale = name.StartsWith("embed", StringComparison.Ordinal) ? 1.0 : name == "head" ? 0.5 : 0.3;
                p.copy_(randn(p.shape, generator: generator) * scale);
            }
        }
    }

    public long ImageToken { get; }

    public override Tensor LmHeadWeight => head;

    public override bool SupportsKeyValueCache => _cache;

    public override bool SupportsAttentionMask => true;

    public int MaskedForwardCalls { get; private set; }

    public override Tensor Forward(PolicyForwardInputs inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        MaskedForwardCalls++;
        using var scope = NewDisposeScope();
        var cache = inputs.Cache;
        long offset = cache?.Length ?? 0;
        var ids = inputs.TokenIds;
        var x = embed.forward(ids);
        long rows = ids.shape[0], length = ids.shape[1];
        var mask = inputs.AttentionMask ?? ones(rows, offset + length, dtype: ScalarType.Int64, device: ids.device);
        Tensor positionIds;
        if (offset == 0)
        {
            x = ScatterImages(x, ids, inputs.Prompts, inputs.PromptLength);
            positionIds = OwnPositions(ids, mask, inputs.PromptLength, out var delta);
            if (cache is not null)
            {
                cache.PositionOffset = delta;
            }
        }
        else
        {
            // Cached step: the adapter's text positions plus this row's delta from the first pass.
            var text = inputs.PositionIds ?? full(rows, length, offset, dtype: ScalarType.Int64, device: ids.device);
            positionIds = text + cache!.PositionOffset!.unsqueeze(1);
        }

        x = x + positions.index_select(0, positionIds.reshape(-1)).reshape(rows, length, _hidden);
        var q = query.forward(x);
        var k = key.forward(x);
        var v = value.forward(x);
        if (cache is not null)
        {
            (k, v) = cache.Append(0, k, v);
        }

        long total = k.shape[1];
        var scores = q.matmul(k.transpose(1, 2)) / Math.Sqrt(_hidden);                     // [B, L, total]
        var queryIndex = arange(offset, offset + length, device: x.device).reshape(1, -1, 1);
        var keyIndex = arange(0, total, device: x.device).reshape(1, 1, -1);
        var visible = keyIndex.le(queryIndex).logical_and(mask.unsqueeze(1).eq(1)).logical_or(keyIndex.eq(queryIndex));
        var attended = scores.masked_fill(visible.logical_not(), double.NegativeInfinity).softmax(-1).matmul(v);
        var h = x + attended;
        h = h + tanh(mlp.forward(h));
        return h.MoveToOuterDisposeScope();
    }

    public override PolicyModule CloneArchitecture() => new InterleavedCausalModule(_vocabulary, _hidden, seed: 0, ImageToken, _cache);

    /// <summary>Replaces each row's placeholder embeddings with its prompt's image features, in order.</summary>
    private Tensor ScatterImages(Tensor x, Tensor ids, IReadOnlyList<PolicyPrompt> prompts, long promptLength)
    {
        var rows = new List<Tensor>();
        for (int r = 0; r < prompts.Count; r++)
        {
            var row = x[r];
            if (prompts[r].ModelInputs?.TryGetValue("pixel_values", out var pixels) == true)
            {
                var slots = ids[r].narrow(0, 0, promptLength).eq(ImageToken).nonzero().reshape(-1);
                if (slots.shape[0] != pixels.shape[0])
                {
                    throw new ArgumentException($"Row {r} has {slots.shape[0]} image placeholders but {pixels.shape[0]} pixel rows.", nameof(prompts));
                }

                var features = vision.forward(pixels.to(x.dtype, x.device));
                row = row.index_copy(0, slots, features);
            }

            rows.Add(row);
        }

        return stack(rows);
    }

    /// <summary>Positions over real tokens, every token of an image run sharing the run's first position; pads get 1. Delta = last + 1 − real count.</summary>
    private Tensor OwnPositions(Tensor ids, Tensor mask, long promptLength, out Tensor delta)
    {
        long rows = ids.shape[0], length = ids.shape[1];
        long[] tokens = ids.cpu().data<long>().ToArray();
        long[] real = mask.narrow(1, mask.shape[1] - length, length).cpu().data<long>().ToArray();
        var result = new long[rows * length];
        var deltas = new long[rows];
        for (long r = 0; r < rows; r++)
        {
            long next = 0, count = 0;
            bool previousImage = false;
            for (long t = 0; t < length; t++)
            {
                long i = (r * length) + t;
                if (real[i] == 0)
                {
                    result[i] = 1;
                    continue;
                }

                bool image = t < promptLength && tokens[i] == ImageToken;
                result[i] = image && previousImage ? next - 1 : next++;
                previousImage = image;
                count++;
            }

            deltas[r] = next - count;
        }

        delta = tensor(deltas, device: ids.device);
        return tensor(result, [rows, length], ScalarType.Int64).to(ids.device);
    }
}
