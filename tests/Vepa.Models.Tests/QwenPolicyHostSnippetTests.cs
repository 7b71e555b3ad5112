using TorchSharp;
using Vepa.Grpo;

namespace Vepa.Models.Tests;

/// <summary>The host snippet of docs/models.md ("Training a Qwen snapshot"), run as written on the tiny Qwen2-VL snapshot.</summary>
public sealed class QwenPolicyHostSnippetTests
{
    [Fact]
    public async Task The_documented_host_snippet_runs_a_GRPO_step_on_a_snapshot_folder()
    {
        string folder = QwenPolicySnapshot.VisionPath;
        using IRewardModel reward = new LengthReward();
        RgbImage image = QwenPolicySnapshot.Image(56, 56, seed: 3);

        string output = Path.Combine(Path.GetTempPath(), "vepa-host-snippet-" + Guid.NewGuid().ToString("N"));
        try
        {
            GrpoStepRecord record = await HostSnippet(folder, reward, image, output);

            record.RolloutCount.Should().Be(4);
            double.IsFinite(record.Loss).Should().BeTrue();
            File.Exists(Path.Combine(output, "model.safetensors")).Should().BeTrue();
        }
        finally
        {
            if (Directory.Exists(output))
            {
                Directory.Delete(output, recursive: true);
            }
        }
    }

    private static async Task<GrpoStepRecord> HostSnippet(string folder, IRewardModel reward, RgbImage image, string output)
    {
        // A snapshot folder (Qwen2-VL-2B-Instruct, Qwen2.5-VL is not supported yet; Qwen2 / Qwen2.5 / Qwen3 for text) and the
        // host's reward, for example new SufficiencyRewardModel(chatClient.AsBlindReader()) over its reader endpoint;
// image = RgbImage.FromFile("scene.png").
        using var policy = QwenPolicy.FromPretrained(folder, torch.CPU, torch.ScalarType.Float32,   // on a GPU: torch.CUDA, BFloat16
            new QwenPolicyOptions { MaxNewTokens = 8, GradientCheckpointing = true });
        var options = new GrpoTrainerOptions
        {
            GroupSize = 2,                                   // the paper: 4
            Sampling = policy.CreateSamplingOptions(),       // stop ids from generation_config.json, temperature 0.9
            LearningRate = 1e-6,
            MaxSteps = 1,
        };
        using var trainer = new GrpoTrainer(policy, reward, options);

        // Chat-formatted VEPA prompts; the image's <|image_pad|> run sits inside the user turn.
        var prompts = new[]
        {
            policy.CreatePrompt("What colour is the square?", "red", image),
            policy.CreatePrompt("Is it on the left or the right?", "left", image, choices: ["left", "right"]),
        };
        try
        {
            GrpoStepRecord record = await trainer.StepAsync(prompts);
            policy.SavePretrained(output);                   // a snapshot folder transformers, vLLM and SGLang load
            return record;
        }
        finally
        {
            foreach (var tensor in prompts.SelectMany(p => p.ModelInputs?.Values ?? []))
            {
                tensor.Dispose();   // the processor's pixel_values and image_grid_thw
            }
        }
    }

    private sealed class LengthReward : IRewardModel
    {
        public Task<IReadOnlyList<RewardResult>> ScoreAsync(IReadOnlyList<RewardRequest> requests, CancellationToken cancellationToken = default) =>
            Task.FromResult<IReadOnlyList<RewardResult>>(requests.Select(r => RewardResult.Scored(Math.Min(1.0, r.Evidence.Length / 20.0))).ToArray());

        public object? GetService(Type serviceType, object? serviceKey = null) => serviceType.IsInstanceOfType(this) ? this : null;

        public void Dispose()
        {
        }
    }
}
