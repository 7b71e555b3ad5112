using TorchSharp;
using TorchSharp.Modules;
using Vepa.Grpo;
using static TorchSharp.torch;

namespace Vepa.Samples.TinyVepa;

/// <summary>
/// A deliberately small policy P(e | v, q) as a <see cref="PolicyModule"/>: the scene-and-question features (the prompt's
/// inputs) become one prefix embedding; each evidence position sees that prefix, its position and the previous token.
/// The adapter (<see cref="TorchPolicy"/>) does the sampling, the fused log-probs and the reference copy.
/// </summary>
internal sealed class TinyPolicyModule : PolicyModule
{
    public const int HiddenSize = 48;
    public const int EvidenceLength = 6;

    private readonly Linear input;
    private readonly Parameter positions;
    private readonly Embedding tokens;
    private readonly Parameter head;

    public TinyPolicyModule(Generator generator)
        : base(nameof(TinyPolicyModule))
    {
        int features = SceneWorld.FeatureCount, vocabulary = SceneWorld.Vocabulary.Length;
        input = nn.Linear(features, HiddenSize, hasBias: false);
        positions = new Parameter(randn(EvidenceLength + 1, HiddenSize, generator: generator) * 0.5f);
        tokens = nn.Embedding(vocabulary, HiddenSize);
        head = new Parameter(randn(vocabulary, HiddenSize, generator: generator) * 0.1f);
        using (no_grad())
        {
            input.weight!.copy_(randn(HiddenSize, features, generator: generator) * 0.5f);
            tokens.weight!.copy_(randn(vocabulary, HiddenSize, generator: generator) * 0.1f);
        }

        RegisterComponents();
    }

    /// <summary>Gets the LM head [V, H] the fused log-prob kernel reads.</summary>
    public override Tensor LmHeadWeight => head;

    /// <summary>Projects each prompt's features [F] to one prefix embedding: [N, 1, H].</summary>
    public override Tensor? EncodePrefix(IReadOnlyList<PolicyPrompt> prompts)
    {
        using var scope = NewDisposeScope();
        var features = stack(prompts.Select(p => p.Inputs!).ToArray());
        return input.forward(features).unsqueeze(1).MoveToOuterDisposeScope();
    }

    /// <summary>Hidden states [B, 1 + L, H]: position 0 predicts the first evidence token, position i the token after token i.</summary>
    public override Tensor Forward(Tensor? prefix, Tensor tokenIds, KeyValueCache? cache)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        using var scope = NewDisposeScope();
        long length = tokenIds.shape[1];
        var previous = cat([zeros(tokenIds.shape[0], 1, HiddenSize, dtype: prefix.dtype, device: prefix.device), tokens.forward(tokenIds)], 1);
        var hidden = tanh(prefix + positions.narrow(0, 0, length + 1).unsqueeze(0) + previous);
        return hidden.MoveToOuterDisposeScope();
    }

    public override PolicyModule CloneArchitecture() => new TinyPolicyModule(new Generator(0));
}
