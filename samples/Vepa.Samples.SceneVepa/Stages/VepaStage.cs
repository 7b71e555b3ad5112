using TorchSharp;
using Vepa.Grpo;
using Vepa.Samples.SceneVepa.Model;
using Vepa.Samples.SceneVepa.Reading;
using Vepa.Samples.SceneVepa.Report;
using Vepa.Samples.SceneVepa.World;
using static TorchSharp.torch;

namespace Vepa.Samples.SceneVepa.Stages;

/// <summary>The VEPA stage, driven through the library's public API only: a <see cref="TorchPolicy"/> over the scene model and the <see cref="GrpoTrainer"/> with the sufficiency reward.</summary>
internal static class VepaStage
{
    /// <summary>
    /// The stage's settings. Paper defaults except the learning rate: 1e-6 is for a 2B-parameter model in bf16; this 150k-parameter
    /// model trained from scratch needs about 100× more to move within 100–200 steps (see docs/main-job.md).
    /// </summary>
    public static GrpoTrainerOptions Options(RunOptions run, int seed, string checkpointDirectory, string stepLog) => new()
    {
        GroupSize = run.GroupSize,
        Loss = new PolicyLossOptions { Beta = run.Beta, KlEstimator = KlEstimator.K3 },
        Sampling = new SamplingOptions
        {
            Temperature = 0.9,
            MaxNewTokens = Evaluation.MaxEvidenceTokens,
            StopTokenIds = [Vocabulary.Eos],
            PadTokenId = Vocabulary.Pad,
        },
        LearningRate = run.VepaLearningRate,
        WarmupRatio = 0.05,
        MaxSteps = run.VepaSteps,
        Seed = seed,
        StepLogPath = stepLog,
        CheckpointDirectory = checkpointDirectory,
        CheckpointEverySteps = 25,
        KeepCheckpoints = 2,
        OverlapGeneration = run.Overlap,
    };

    public static WordTokenizer Tokenizer { get; } = new(Vocabulary.All);

    /// <summary>Runs (or resumes) the stage on a copy of the caption model and returns the trained model and its step records.</summary>
    public static async Task<(SceneVlm Model, List<VepaStepPoint> Curve)> RunAsync(
        SceneVlm captionModel, IRewardModel reward, SceneData data, RunOptions run, int seed, string seedFolder, bool resume,
        Action<GrpoStepRecord> onStep, CancellationToken cancellationToken)
    {
        torch.manual_seed(seed);
        var module = captionModel.Copy();
        using var policy = new TorchPolicy(module, Tokenizer, new TorchPolicyOptions { Seed = seed });
        string checkpoints = Path.Combine(seedFolder, "checkpoints", "vepa");
        string stepLog = Path.Combine(seedFolder, "vepa-steps.jsonl");
        bool resuming = resume && Directory.Exists(checkpoints) && Directory.EnumerateDirectories(checkpoints, "step-*").Any();
        if (!resuming && File.Exists(stepLog))
        {
            File.Delete(stepLog);
        }

        using var trainer = new GrpoTrainer(policy, reward, Options(run, seed, checkpoints, stepLog));
        var curve = new List<VepaStepPoint>();
        if (resuming)
        {
            await trainer.ResumeAsync(checkpoints, cancellationToken).ConfigureAwait(false);
            curve.AddRange(ReadCurve(stepLog).Where(p => p.Step <= trainer.CompletedSteps));
        }

        if (run.Overlap)
        {
            // Overlapped generation needs the stream of batches (the trainer reads one ahead); TrainStreamAsync writes the
            // checkpoints (every 25 steps, the last step, and on cancellation).
            await foreach (var record in trainer.TrainStreamAsync(Batches(data, run, seed, trainer.CompletedSteps + 1, cancellationToken), cancellationToken).ConfigureAwait(false))
            {
                curve.Add(new VepaStepPoint(record.Step, record.RewardMean, record.CompletionLengthMean, record.Kl, record.ZeroSignalGroupFraction, record.Timings.Total.TotalSeconds));
                onStep(record);
            }

            return (module.Copy(), curve);
        }

        while (trainer.CompletedSteps < run.VepaSteps)
        {
            int step = trainer.CompletedSteps + 1;
            var items = await data.VepaPromptsAsync(seed, step, run.PromptsPerStep, cancellationToken).ConfigureAwait(false);
            var prompts = Prompts(items);
            try
            {
                var record = await trainer.StepAsync(prompts, cancellationToken).ConfigureAwait(false);
                curve.Add(new VepaStepPoint(record.Step, record.RewardMean, record.CompletionLengthMean, record.Kl, record.ZeroSignalGroupFraction, record.Timings.Total.TotalSeconds));
                onStep(record);
                if (record.Step % 25 == 0 || record.Step == run.VepaSteps)
                {
                    await trainer.SaveCheckpointAsync(checkpoints, CancellationToken.None).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException)
            {
                // The policy is at the end of the previous step: keep it so that --resume continues from there.
                await trainer.SaveCheckpointAsync(checkpoints, CancellationToken.None).ConfigureAwait(false);
                throw;
            }
            finally
            {
                foreach (var p in prompts)
                {
                    p.Inputs?.Dispose();
                }
            }
        }

        return (module.Copy(), curve);
    }

    /// <summary>The prompt batches from step <paramref name="first"/> on; a batch's images are released once its step has finished.</summary>
    private static async IAsyncEnumerable<IReadOnlyList<PolicyPrompt>> Batches(
        SceneData data, RunOptions run, int seed, int first, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var previous = new Queue<List<PolicyPrompt>>();
        try
        {
            for (int step = first; step <= run.VepaSteps; step++)
            {
                var prompts = Prompts(await data.VepaPromptsAsync(seed, step, run.PromptsPerStep, cancellationToken).ConfigureAwait(false));
                previous.Enqueue(prompts);
                yield return prompts;

                // Resumed when the trainer asks for the next batch: every batch before the last one yielded has finished its step
                // (with overlap, the last one may still be training).
                while (previous.Count > 1)
                {
                    foreach (var p in previous.Dequeue())
                    {
                        p.Inputs?.Dispose();
                    }
                }
            }
        }
        finally
        {
            foreach (var p in previous.SelectMany(b => b))
            {
                p.Inputs?.Dispose();
            }
        }
    }

    /// <summary>Policy prompts: question, gold, choices, the prompt ids and the image [3, 24, 24] as the model input.</summary>
    public static List<PolicyPrompt> Prompts(IReadOnlyList<VqaItem> items) => items.Select(item =>
    {
        var image = torch.tensor(item.Scene.Render(), [Scene.Channels, Scene.ImageSize, Scene.ImageSize]).DetachFromDisposeScope();
        return new PolicyPrompt(item.Question, item.Gold, Vocabulary.Prompt(item.Question, Vocabulary.EvidenceTask), image, item.Choices)
        {
            // The scene graph, for a reward that checks the evidence against it (the grounded reward); readers never see it.
            Metadata = new Dictionary<string, object?>(StringComparer.Ordinal) { [GroundedRewardModel.SceneKey] = item },
        };
    }).ToList();

    private static IEnumerable<VepaStepPoint> ReadCurve(string stepLog)
    {
        if (!File.Exists(stepLog))
        {
            yield break;
        }

        foreach (string line in File.ReadLines(stepLog))
        {
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            using var doc = System.Text.Json.JsonDocument.Parse(line);
            var root = doc.RootElement;
            yield return new VepaStepPoint(
                Get(root, "step") is { } s ? (int)s : 0,
                Get(root, "reward_mean") ?? double.NaN,
                Get(root, "length_mean") ?? double.NaN,
                Get(root, "kl") ?? double.NaN,
                Get(root, "zero_signal_fraction") ?? double.NaN,
                Get(root, "time/total") ?? double.NaN);
        }
    }

    private static double? Get(System.Text.Json.JsonElement root, string name) =>
        root.TryGetProperty(name, out var v) && v.ValueKind == System.Text.Json.JsonValueKind.Number ? v.GetDouble() : null;
}
