using TorchSharp;
using Vepa.Samples.SceneVepa.Model;
using Vepa.Samples.SceneVepa.World;
using static TorchSharp.torch;

namespace Vepa.Samples.SceneVepa.Stages;

/// <summary>One supervised example: an image, a question, the task token, and the target words.</summary>
internal sealed record SupervisedExample(Scene Scene, string Question, int Task, string Target);

/// <summary>Teacher-forced next-token training (caption pretraining and SFT), in plain TorchSharp.</summary>
internal static class Supervised
{
    /// <summary>Runs <paramref name="steps"/> AdamW steps; <paramref name="batch"/> draws step i's examples. Returns the mean loss of the last tenth.</summary>
    public static double Train(SceneVlm model, int steps, Func<int, IReadOnlyList<SupervisedExample>> batch, double learningRate, Action<int, double>? onStep, CancellationToken cancellationToken)
    {
        model.train();
        using var optimizer = torch.optim.AdamW(model.parameters(), lr: learningRate, weight_decay: 0.01);
        var tail = new List<double>();
        for (int step = 0; step < steps; step++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var examples = batch(step);
            double loss;
            using (var scope = torch.NewDisposeScope())
            {
                var images = Batches.Images(examples.Select(e => e.Scene).ToList());
                var (inputs, labels) = Batches.TeacherForcing(examples.Select(e => e.Question).ToList(), examples[0].Task, examples.Select(e => e.Target).ToList());
                var hidden = model.TokenHidden(model.EncodeImages(images), inputs);
                var logits = model.Logits(hidden);
                var l = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[2]), labels.reshape(-1), ignore_index: -100);
                optimizer.zero_grad();
                l.backward();
                nn.utils.clip_grad_norm_(model.parameters(), 1.0);
                optimizer.step();
                loss = l.item<float>();
            }

            if (step >= steps - Math.Max(1, steps / 10))
            {
                tail.Add(loss);
            }

            onStep?.Invoke(step + 1, loss);
        }

        return tail.Average();
    }
}
