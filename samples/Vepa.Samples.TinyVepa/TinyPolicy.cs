using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Vepa.Samples.TinyVepa;

/// <summary>
/// A deliberately small policy P(e | v, q): scene-and-question features → per-position hidden states → an LM head.
/// Positions are sampled independently (no autoregression) to keep the sample fast on a laptop CPU; the GRPO maths is
/// the same as for a causal LM because the loss only sees per-token log-probs.
/// </summary>
internal sealed class TinyPolicy : IDisposable
{
    public const int HiddenSize = 48;
    public const int EvidenceLength = 6;

    private TinyPolicy(Parameter input, Parameter positions, Parameter head)
    {
        Input = input;
        Positions = positions;
        Head = head;
    }

    public Parameter Input { get; }      // [H, F]

    public Parameter Positions { get; }  // [T, H]

    public Parameter Head { get; }       // [V, H], the LM head the fused log-prob kernel reads

    public IEnumerable<Parameter> Parameters => [Input, Positions, Head];

    public static TinyPolicy Create(Generator generator)
    {
        int features = SceneWorld.FeatureCount, vocabulary = SceneWorld.Vocabulary.Length;
        return new TinyPolicy(
            Leaf(randn(HiddenSize, features, generator: generator) * 0.5f),
            Leaf(randn(EvidenceLength, HiddenSize, generator: generator) * 0.5f),
            Leaf(randn(vocabulary, HiddenSize, generator: generator) * 0.1f));
    }

    /// <summary>A frozen copy: the reference policy π_ref for the KL penalty.</summary>
    public TinyPolicy FrozenCopy()
    {
        using var _ = no_grad();
        return new TinyPolicy(Frozen(Input), Frozen(Positions), Frozen(Head));
    }

    /// <summary>Hidden states [B, T, H] for features [B, F].</summary>
    public Tensor HiddenStates(Tensor features)
        => tanh(features.matmul(Input.t()).unsqueeze(1) + Positions.unsqueeze(0));

    /// <summary>Samples evidence tokens [B, T] at the given temperature (no gradient).</summary>
    public Tensor Sample(Tensor features, double temperature, Generator generator)
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var logits = HiddenStates(features).matmul(Head.t()) / temperature;
        var probabilities = logits.softmax(-1).reshape(-1, logits.shape[2]);
        return multinomial(probabilities, 1, generator: generator).reshape(features.shape[0], EvidenceLength).MoveToOuterDisposeScope();
    }

    /// <summary>Greedy evidence tokens [B, T].</summary>
    public Tensor Greedy(Tensor features)
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        return HiddenStates(features).matmul(Head.t()).argmax(-1).MoveToOuterDisposeScope();
    }

    public void Dispose()
    {
        Input.Dispose();
        Positions.Dispose();
        Head.Dispose();
    }

    private static Parameter Leaf(Tensor value)
    {
        var parameter = new Parameter(value.detach(), requires_grad: true);
        parameter.DetachFromDisposeScope();
        return parameter;
    }

    private static Parameter Frozen(Parameter value)
    {
        var parameter = new Parameter(value.detach().clone(), requires_grad: false);
        parameter.DetachFromDisposeScope();
        return parameter;
    }
}
