using TorchSharp;
using TorchSharp.Modules;
using Vepa.Grpo;
using Vepa.Samples.SceneVepa.World;
using static TorchSharp.torch;

namespace Vepa.Samples.SceneVepa.Model;

/// <summary>The sizes of the vision-language model.</summary>
internal sealed record VlmSize(int ModelDim = 64, int Layers = 2, int Heads = 4, int MaxTokens = 40)
{
    public const int PatchPixels = Scene.CellPixels;
    public const int Patches = (Scene.ImageSize / PatchPixels) * (Scene.ImageSize / PatchPixels);
}

/// <summary>
/// A small vision-language model: a patch encoder turns the 24×24 image into 9 visual tokens (one per 8×8 patch), which prefix a
/// small causal transformer decoder over the word vocabulary; an LM head maps hidden states to words.
/// </summary>
internal sealed class SceneVlm : PolicyModule
{
    // Scalars held for the process's lifetime. `a + b` creates a Scalar alpha = 1 per call whose native memory its finalizer frees;
    // twice (in about ten runs) a run died in such an op with a corrupted Scalar ("toFloat ... Expected false to be true") right
    // after the VEPA stage, when the finalizer queue was long: consistent with a finalizer freeing the Scalar during the native call.
    private static readonly Scalar One = 1;

    private readonly Sequential patchEncoder;
    private readonly Parameter patchPosition;
    private readonly Embedding tokenEmbedding;
    private readonly Parameter tokenPosition;
    private readonly ModuleList<DecoderBlock> blocks;
    private readonly LayerNorm finalNorm;
    private readonly Linear head;

    public SceneVlm(VlmSize size, Generator? generator = null)
        : base(nameof(SceneVlm))
    {
        Size = size;
        int d = size.ModelDim;
        int patchInput = Scene.Channels * VlmSize.PatchPixels * VlmSize.PatchPixels;
        patchEncoder = nn.Sequential(nn.Linear(patchInput, 2 * d), nn.GELU(), nn.Linear(2 * d, d), nn.LayerNorm(d));
        patchPosition = new Parameter(torch.randn(VlmSize.Patches, d, generator: generator) * 0.5f);
        tokenEmbedding = nn.Embedding(Vocabulary.Size, d);
        tokenPosition = new Parameter(torch.randn(size.MaxTokens, d, generator: generator) * 0.5f);
        blocks = new ModuleList<DecoderBlock>(Enumerable.Range(0, size.Layers).Select(_ => new DecoderBlock(d, size.Heads)).ToArray());
        finalNorm = nn.LayerNorm(d);
        head = nn.Linear(d, Vocabulary.Size, hasBias: false);
        RegisterComponents();
        if (generator is not null)
        {
            using var noGrad = torch.no_grad();
            foreach (var (name, p) in named_parameters())
            {
                if (name.Contains("Position", StringComparison.Ordinal))
                {
                    p.copy_(torch.randn(p.shape, generator: generator) * 0.3f);
                }
                else if (name.StartsWith("tokenEmbedding", StringComparison.Ordinal))
                {
                    p.copy_(torch.randn(p.shape, generator: generator));
                }
                else if (p.dim() == 2)
                {
                    p.copy_(torch.randn(p.shape, generator: generator) * (float)Math.Sqrt(1.0 / p.shape[1]));
                }
            }
        }
    }

    public VlmSize Size { get; }

    /// <summary>Gets the LM head weight [V, D].</summary>
    public override Tensor LmHeadWeight => head.weight!;

    /// <summary>Stacks the prompts' images ([3, 24, 24] each) and encodes them into the visual prefix.</summary>
    public override Tensor? EncodePrefix(IReadOnlyList<PolicyPrompt> prompts)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        if (prompts.Any(p => p.Inputs is null))
        {
            throw new ArgumentException("Every prompt of the scene policy carries its image [3, 24, 24] as Inputs.", nameof(prompts));
        }

        return EncodeImages(torch.stack(prompts.Select(p => p.Inputs!).ToArray()));
    }

    public override PolicyModule CloneArchitecture() => new SceneVlm(Size);

    /// <summary>Encodes images [B, 3, 24, 24] into visual prefix tokens [B, 9, D].</summary>
    public Tensor EncodeImages(Tensor images)
    {
        long b = images.shape[0];
        int p = VlmSize.PatchPixels;
        // [B, 3, 3, 8, 3, 8] → [B, 3 rows, 3 cols, 3 channels, 8, 8] → [B, 9, 192]
        var patches = images.reshape(b, Scene.Channels, 3, p, 3, p).permute(0, 2, 4, 1, 3, 5).reshape(b, VlmSize.Patches, -1);
        return patchEncoder.forward(patches).add(patchPosition, One);
    }

    /// <summary>Hidden states [B, T, D] of the token positions, given visual prefix tokens [B, 9, D] and token ids [B, T].</summary>
    public Tensor TokenHidden(Tensor prefix, Tensor tokens)
    {
        using var scope = torch.NewDisposeScope();
        return Forward(prefix, tokens, cache: null)[.., (int)prefix.shape[1]..].MoveToOuterDisposeScope();
    }

    /// <summary>Hidden states [B, P + T, D] of every position (the policy-module contract; recomputed, no KV cache).</summary>
    public override Tensor Forward(Tensor? prefix, Tensor tokens, KeyValueCache? cache)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        ArgumentNullException.ThrowIfNull(tokens);
        if (cache is not null)
        {
            throw new ArgumentException("SceneVlm does not support a KV cache; it recomputes.", nameof(cache));
        }

        long t = tokens.shape[1];
        long total = prefix.shape[1] + t;
        if (total > Size.MaxTokens + VlmSize.Patches)
        {
            throw new ArgumentException($"{t} tokens exceed the model's {Size.MaxTokens} positions.", nameof(tokens));
        }

        var x = torch.cat([prefix, tokenEmbedding.forward(tokens).add(tokenPosition[..(int)t], One)], dim: 1);
        using var mask = torch.ones(total, total, dtype: ScalarType.Bool).tril().logical_not();
        foreach (var block in blocks)
        {
            x = block.Forward(x, mask);
        }

        return finalNorm.forward(x);
    }

    /// <summary>Logits [B, T, V] (evaluation and supervised training; GRPO goes through the fused log-prob kernel instead).</summary>
    public Tensor Logits(Tensor hidden) => head.forward(hidden);

    public SceneVlm Copy()
    {
        var copy = new SceneVlm(Size);
        copy.load_state_dict(state_dict());
        return copy;
    }

    public int ParameterCount => (int)parameters().Sum(p => p.numel());

    private sealed class DecoderBlock : nn.Module
    {
        private readonly LayerNorm norm1;
        private readonly Linear qkv;
        private readonly Linear proj;
        private readonly LayerNorm norm2;
        private readonly Sequential mlp;
        private readonly int heads;

        // Held for the process's lifetime, like One above.
        private static readonly Scalar NegativeInfinity = float.NegativeInfinity;
        private readonly Scalar scale;

        public DecoderBlock(int d, int heads)
            : base(nameof(DecoderBlock))
        {
            this.heads = heads;
            scale = 1.0 / Math.Sqrt(d / heads);
            norm1 = nn.LayerNorm(d);
            qkv = nn.Linear(d, 3 * d);
            proj = nn.Linear(d, d);
            norm2 = nn.LayerNorm(d);
            mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d));
            RegisterComponents();
        }

        public Tensor Forward(Tensor x, Tensor causalMask)
        {
            long b = x.shape[0], t = x.shape[1], d = x.shape[2];
            long hd = d / heads;
            var h = norm1.forward(x);
            var parts = qkv.forward(h).reshape(b, t, 3, heads, hd).permute(2, 0, 3, 1, 4); // [3, B, H, T, hd]
            var q = parts[0];
            var k = parts[1];
            var v = parts[2];
            var scores = torch.matmul(q, k.transpose(-2, -1)).mul(scale);
            scores = scores.masked_fill(causalMask, NegativeInfinity);
            var attention = torch.matmul(scores.softmax(-1), v).permute(0, 2, 1, 3).reshape(b, t, d);
            x = x.add(proj.forward(attention), One);
            return x.add(mlp.forward(norm2.forward(x)), One);
        }
    }
}
