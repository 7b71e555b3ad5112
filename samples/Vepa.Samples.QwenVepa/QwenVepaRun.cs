using TorchSharp;
using Vepa.Grpo;
using Vepa.Models;
using static TorchSharp.torch;

namespace Vepa.Samples.QwenVepa;

/// <summary>What a run did: one record per step, and the trained snapshot folder.</summary>
/// <param name="Steps">The step records, in order (including steps of an earlier run it resumed, when their records are in the step log).</param>
/// <param name="TrainedSnapshot">The Hugging Face snapshot folder of the trained policy.</param>
/// <param name="SupportsImages">Whether the policy saw the pictures (Qwen2-VL) or their descriptions (a text model).</param>
internal sealed record QwenVepaResult(IReadOnlyList<GrpoStepRecord> Steps, string TrainedSnapshot, bool SupportsImages);

/// <summary>The VEPA stage on a Qwen snapshot folder: load, build prompts, <see cref="GrpoTrainer.StepAsync"/>, checkpoint, save.</summary>
internal static class QwenVepaRun
{
    public static async Task<QwenVepaResult> RunAsync(QwenVepaOptions options, IRewardModel reward, TextWriter log, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(reward);
        torch.manual_seed(options.Seed);
        bool cuda = options.Device == "cuda";
        if (cuda && !torch.cuda.is_available())
        {
            throw new InvalidOperationException("--device cuda: no CUDA device is visible to LibTorch (is the TorchSharp-cuda package referenced instead of TorchSharp-cpu?).");
        }

        var dtype = options.DType switch
        {
            "bfloat16" => ScalarType.BFloat16,
            "float32" => ScalarType.Float32,
            _ => cuda ? ScalarType.BFloat16 : ScalarType.Float32,
        };

        // 1. The policy: model, tokenizer, chat format and stop ids from the snapshot folder.
        using var policy = QwenPolicy.FromPretrained(
            options.Model!,
            cuda ? torch.CUDA : torch.CPU,
            dtype,
            new QwenPolicyOptions { MaxNewTokens = options.MaxNewTokens, GradientCheckpointing = options.GradientCheckpointing, Seed = options.Seed });
        long parameters = policy.TrainableParameters.Sum(p => p.numel());
        await log.WriteLineAsync($"model: {policy.Model.GetType().Name} from {options.Model}, {parameters:N0} parameters, {dtype} on {options.Device}; " +
            (policy.SupportsImages ? "prompts carry the picture" : "a text model: prompts carry the picture in words")).ConfigureAwait(false);

        // 2. The trainer: the paper's GRPO settings (G = 4, temperature 0.9, clip 0.2, β = 0.01), checkpoints under --out.
        string checkpoints = Path.Combine(options.OutputFolder, "checkpoints");
        var trainerOptions = new GrpoTrainerOptions
        {
            GroupSize = options.GroupSize,
            Sampling = policy.CreateSamplingOptions(),
            LearningRate = options.LearningRate,
            MaxSteps = options.Steps,
            Seed = options.Seed,
            CheckpointDirectory = checkpoints,
            CheckpointEverySteps = Math.Max(1, options.Steps / 4),
            KeepCheckpoints = 2,
            StepLogPath = Path.Combine(options.OutputFolder, "steps.jsonl"),
        };
        using var trainer = new GrpoTrainer(policy, reward, trainerOptions);
        if (await trainer.TryResumeAsync(checkpoints, cancellationToken).ConfigureAwait(false))
        {
            await log.WriteLineAsync($"resumed from {checkpoints} after step {trainer.CompletedSteps}").ConfigureAwait(false);
        }

        // 3. The steps: fresh VQA items each step, as chat prompts with the VEPA evidence instruction.
        var records = new List<GrpoStepRecord>();
        while (trainer.CompletedSteps < options.Steps)
        {
            int step = trainer.CompletedSteps + 1;
            var items = ShapeWorld.Items(options.Seed, step, options.PromptsPerStep, options.ImageSize);
            var prompts = items.Select((item, i) => policy.SupportsImages
                ? policy.CreatePrompt(item.Question, item.Gold, item.Image, item.Choices, id: $"{step}-{i}")
                : policy.CreatePrompt(item.Question, item.Gold, image: null, item.Choices, id: $"{step}-{i}", context: item.Description)).ToList();
            try
            {
                var record = await trainer.StepAsync(prompts, cancellationToken).ConfigureAwait(false);
                records.Add(record);
                await log.WriteLineAsync(string.Create(
                    CultureInfo.InvariantCulture,
                    $"step {record.Step}/{options.Steps}: reward {record.RewardMean:F3}, loss {record.Loss:F4}, KL {record.Kl:F4}, evidence {record.CompletionLengthMean:F1} tokens, {record.Timings.Total.TotalSeconds:F1} s")).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Keep the policy as it was after the last finished step, so that the same command continues from there.
                await trainer.SaveCheckpointAsync(checkpoints, CancellationToken.None).ConfigureAwait(false);
                throw;
            }
            finally
            {
                foreach (var tensor in prompts.SelectMany(p => p.ModelInputs?.Values ?? []))
                {
                    tensor.Dispose();
                }
            }
        }

        // 4. The result: a checkpoint to resume from, and a snapshot folder that transformers, vLLM and SGLang load.
        await trainer.SaveCheckpointAsync(checkpoints, cancellationToken).ConfigureAwait(false);
        string trained = Path.Combine(options.OutputFolder, "trained");
        policy.SavePretrained(trained);
        await log.WriteLineAsync($"trained snapshot: {Path.GetFullPath(trained)}").ConfigureAwait(false);
        return new QwenVepaResult(records, trained, policy.SupportsImages);
    }
}
