using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Vepa.Consumer;

/// <summary>
/// The host's own small policy: a prompt embedding as the last hidden state and an LM head over the colour words, so
/// Vepa's fused log-prob kernel reads (hidden, head) and never forms the logits tensor of a large vocabulary.
/// </summary>
public sealed class AnswerPolicy : nn.Module
{
    private readonly Parameter _prompts;   // [prompts, H]
    private readonly Parameter _head;      // [V, H]

    public AnswerPolicy(int prompts, int vocabulary, int hiddenSize, Generator generator)
        : base(nameof(AnswerPolicy))
    {
        _prompts = new Parameter(randn(prompts, hiddenSize, generator: generator) * 0.1f);
        _head = new Parameter(randn(vocabulary, hiddenSize, generator: generator) * 0.1f);
        RegisterComponents();
    }

    /// <summary>Gets the LM-head weight [V, H].</summary>
    public Tensor Head => _head;

    /// <summary>The last hidden state of each sequence's one completion token: [B, 1, H].</summary>
    public Tensor HiddenStates(Tensor promptIds) => _prompts.index_select(0, promptIds).unsqueeze(1);

    /// <summary>Samples one token per sequence at the given temperature: [B, 1] int64.</summary>
    public Tensor Sample(Tensor promptIds, double temperature, Generator generator)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        Tensor probabilities = (HiddenStates(promptIds).squeeze(1).matmul(_head.t()) / temperature).softmax(-1);
        return multinomial(probabilities, 1, generator: generator).MoveToOuterDisposeScope();
    }
}
