using TorchSharp;
using TorchSharp.Modules;
using Vepa.Grpo;
using static TorchSharp.torch;

namespace Vepa.Consumer;

#region snippet:own-policy-module
/// <summary>
/// A policy model of the host's own: token embeddings, a causal running mean (position t sees tokens ≤ t), and an LM head.
/// <see cref="TorchPolicy"/> turns any such <see cref="PolicyModule"/> into a policy: sampling, fused log-probs, reference
/// copies and state. A real model returns its transformer's last hidden states the same way.
/// </summary>
public sealed class ColourAnswerModule : PolicyModule
{
    private readonly int _vocabulary;
    private readonly int _hidden;
    private readonly Embedding _embed;
    private readonly Parameter _head;

    public ColourAnswerModule(int vocabulary, int hidden, long seed)
        : base(nameof(ColourAnswerModule))
    {
        _vocabulary = vocabulary;
        _hidden = hidden;
        using var generator = new Generator((ulong)seed);
        _embed = nn.Embedding(vocabulary, hidden);
        _head = new Parameter(randn(vocabulary, hidden, generator: generator) * 0.1);
        using (no_grad())
        {
            _embed.weight!.copy_(randn(vocabulary, hidden, generator: generator));
        }

        RegisterComponents();
    }

    /// <inheritdoc/>
    public override Tensor LmHeadWeight => _head;

    /// <inheritdoc/>
    public override Tensor Forward(Tensor? prefix, Tensor tokenIds, KeyValueCache? cache)
    {
        using var scope = NewDisposeScope();
        Tensor x = _embed.forward(tokenIds);                                   // [B, L, H]
        if (prefix is not null)
        {
            x = cat([prefix, x], 1);                                            // image or other prefix first
        }

        Tensor positions = arange(1, x.shape[1] + 1, dtype: x.dtype, device: x.device).reshape(1, -1, 1);
        return tanh(x.cumsum(1) / positions).MoveToOuterDisposeScope();        // [B, P + L, H]
    }

    /// <inheritdoc/>
    public override PolicyModule CloneArchitecture() => new ColourAnswerModule(_vocabulary, _hidden, seed: 0);
}
#endregion
