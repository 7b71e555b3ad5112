using TorchSharp;
using Vepa.Samples.SceneVepa.World;
using static TorchSharp.torch;

namespace Vepa.Samples.SceneVepa.Stages;

/// <summary>Builds the tensors the model reads: images, prompts, teacher-forcing sequences.</summary>
internal static class Batches
{
    /// <summary>Renders scenes into [B, 3, 24, 24].</summary>
    public static Tensor Images(IReadOnlyList<Scene> scenes)
    {
        var pixels = new float[scenes.Count * Scene.PixelCount];
        for (int i = 0; i < scenes.Count; i++)
        {
            scenes[i].Render(pixels.AsSpan(i * Scene.PixelCount, Scene.PixelCount));
        }

        return torch.tensor(pixels, [scenes.Count, Scene.Channels, Scene.ImageSize, Scene.ImageSize]);
    }

    /// <summary>Prompt ids [B, PromptLength] for one task.</summary>
    public static Tensor Prompts(IReadOnlyList<string> questions, int task)
    {
        var ids = new long[questions.Count * Vocabulary.PromptLength];
        for (int i = 0; i < questions.Count; i++)
        {
            Vocabulary.Prompt(questions[i], task).CopyTo(ids.AsSpan(i * Vocabulary.PromptLength));
        }

        return torch.tensor(ids, [questions.Count, Vocabulary.PromptLength]);
    }

    /// <summary>
    /// Teacher forcing: inputs [B, L] (prompt, target) and labels [B, L] (the next token at each position; −100 where no loss:
    /// the prompt and padding), with &lt;eos&gt; after each target.
    /// </summary>
    public static (Tensor Inputs, Tensor Labels) TeacherForcing(IReadOnlyList<string> questions, int task, IReadOnlyList<string> targets)
    {
        var encoded = targets.Select(t => Vocabulary.Encode(t).Append(Vocabulary.Eos).ToArray()).ToList();
        int length = Vocabulary.PromptLength + encoded.Max(e => e.Length) - 1;
        var inputs = new long[questions.Count * length];
        var labels = new long[questions.Count * length];
        Array.Fill(labels, -100);
        for (int i = 0; i < questions.Count; i++)
        {
            long[] sequence = [.. Vocabulary.Prompt(questions[i], task), .. encoded[i]];
            for (int t = 0; t < length; t++)
            {
                inputs[(i * length) + t] = t < sequence.Length - 1 ? sequence[t] : Vocabulary.Pad;
                if (t >= Vocabulary.PromptLength - 1 && t + 1 < sequence.Length)
                {
                    labels[(i * length) + t] = sequence[t + 1];
                }
            }
        }

        return (torch.tensor(inputs, [questions.Count, length]), torch.tensor(labels, [questions.Count, length]));
    }
}
