using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Vepa.Grpo.Tests.Training;

/// <summary>
/// A tiny causal decoder for tests: token + position embeddings, one single-head causal self-attention layer with a KV cache,
/// an MLP, and an untied LM head. With <c>imageSize</c> set it is a miniature vision-language policy: prompts carry an image
/// [3, S, S], cut into 2×2 patches whose linear embeddings are the visual prefix.
/// </summary>
internal sealed class TinyCausalModule : PolicyModule
{
    private readonly int _vocabulary;
    private readonly int _hidden;
    private readonly int? _imageSize;
    private readonly bool _cache;
    private readonly Embedding embed;
    private readonly Parameter positions;
    private readonly Linear query;
    private readonly Linear key;
    private readonly Linear value;
    private readonly Linear mlp;
    private readonly Parameter head;
    private readonly Linear? patches;

    public TinyCausalModule(int vocabulary, int hidden, long seed, int? imageSize = null, bool cache = true)
        : base(nameof(TinyCausalModule))
    {
        _vocabulary = vocabulary;
        _hidden = hidden;
        _imageSize = imageSize;
        _cache = cache;
        using var generator = new Generator((ulong)seed);
        embed = nn.Embedding(vocabulary, hidden);
        positions = new Parameter(zeros(64, hidden));
        query = nn.Linear(hidden, hidden);
        key = nn.Linear(hidden, hidden);
        value = nn.Linear(hidden, hidden);
        mlp = nn.Linear(hidden, hidden);
        head = new Parameter(zeros(vocabulary, hidden));
        if (imageSize is int size)
        {
            patches = nn.Linear(3 * 2 * 2, hidden);
        }

        RegisterComponents();

        // Every weight, biases included, from the seeded generator: two modules built with one seed are identical.
        using (no_grad())
        {
            foreach (var (name, p) in named_parameters())
            {
                // Distinct token embeddings and a small LM head: distinct questions, a near-uniform initial policy.
                double scale = name.StartsWith("embed", StringComparison.Ordinal) ? 1.0 : name == "head" ? 0.1 : 0.3;
                p.copy_(randn(p.shape, generator: generator) * scale);
            }
        }
    }

    public override Tensor LmHeadWeight => head;

    public override bool SupportsKeyValueCache => _cache;

    public int ForwardCalls { get; private set; }

    public int CachedForwardCalls { get; private set; }

    public override Tensor? EncodePrefix(IReadOnlyList<PolicyPrompt> prompts)
    {
        if (patches is null)
        {
            return base.EncodePrefix(prompts);
        }

        using var scope = NewDisposeScope();
        int size = _imageSize!.Value;
        var images = stack(prompts.Select(p => p.Inputs!).ToArray()).to(head.dtype, head.device);    // [N, 3, S, S]
        var cut = images.reshape(-1, 3, size / 2, 2, size / 2, 2).permute(0, 2, 4, 1, 3, 5).reshape(images.shape[0], size / 2 * (size / 2), 12);
        return patches.forward(cut).MoveToOuterDisposeScope();                                           // [N, P, H]
    }

    public override Tensor Forward(Tensor? prefix, Tensor tokenIds, KeyValueCache? cache)
    {
        ForwardCalls++;
        CachedForwardCalls += cache is null ? 0 : 1;
        using var scope = NewDisposeScope();
        long offset = cache?.Length ?? 0;
        var x = embed.forward(tokenIds);
        if (prefix is not null)
        {
            x = cat([prefix, x], 1);
        }

        long length = x.shape[1];
        x = x + positions.narrow(0, offset, length).unsqueeze(0);
        var q = query.forward(x);
        var k = key.forward(x);
        var v = value.forward(x);
        if (cache is not null)
        {
            (k, v) = cache.Append(0, k, v);
        }

        long total = k.shape[1];
        var scores = q.matmul(k.transpose(1, 2)) / Math.Sqrt(_hidden);
        var rows = arange(offset, offset + length, device: x.device).unsqueeze(1);
        var cols = arange(0, total, device: x.device).unsqueeze(0);
        scores = scores.masked_fill(cols.gt(rows).unsqueeze(0), double.NegativeInfinity);
        var attended = scores.softmax(-1).matmul(v);
        var h = x + attended;
        h = h + tanh(mlp.forward(h));
        return h.MoveToOuterDisposeScope();
    }

    public override PolicyModule CloneArchitecture() => new TinyCausalModule(_vocabulary, _hidden, seed: 0, _imageSize, _cache);
}
