using TorchSharp;
using Vepa.Samples.SceneVepa.Model;
using Vepa.Samples.SceneVepa.World;
using static TorchSharp.torch;

namespace Vepa.Samples.SceneVepa.Stages;

/// <summary>Greedy decoding for evaluation (recomputes the sequence each step; the model is tiny).</summary>
internal static class Decoding
{
    // Held for the process's lifetime: an implicit Scalar made per call can be finalized while native code still uses it.
    private static readonly Scalar EndOfEvidence = (long)Vocabulary.Eos;

    public static string[] Greedy(SceneVlm model, Tensor images, IReadOnlyList<string> questions, int task, int maxNewTokens)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        bool wasTraining = model.training;
        model.eval();
        var prefix = model.EncodeImages(images);
        var tokens = Batches.Prompts(questions, task);
        var done = torch.zeros(questions.Count, dtype: ScalarType.Bool);
        for (int step = 0; step < maxNewTokens; step++)
        {
            var hidden = model.TokenHidden(prefix, tokens);
            var next = model.Logits(hidden[.., -1]).argmax(-1);
            next = next.masked_fill(done, EndOfEvidence);
            tokens = torch.cat([tokens, next.unsqueeze(1)], dim: 1);
            done = done.logical_or(next.eq(Vocabulary.Eos));
            if (done.all().item<bool>())
            {
                break;
            }
        }

        model.train(wasTraining);
        long[] ids = tokens[.., Vocabulary.PromptLength..].contiguous().data<long>().ToArray();
        int width = (int)tokens.shape[1] - Vocabulary.PromptLength;
        return Enumerable.Range(0, questions.Count).Select(i => Vocabulary.Decode(ids.AsSpan(i * width, width))).ToArray();
    }
}
