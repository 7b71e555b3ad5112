using TorchSharp;
using Vepa.Grpo;
using static TorchSharp.torch;

namespace Vepa.Models.Tests;

/// <summary>A GRPO step through <see cref="GrpoTrainer.StepAsync"/> on the tiny Qwen2 and Qwen2-VL snapshots, and the trained policy's snapshot round trip.</summary>
public sealed class QwenPolicyTrainingTests : IDisposable
{
    private readonly string _saved = Path.Combine(Path.GetTempPath(), "vepa-qwen-trained-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_saved))
        {
            Directory.Delete(_saved, recursive: true);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_trainer_step_changes_the_weights_and_the_saved_snapshot_reloads_to_the_same_policy(bool vision)
    {
        using var policy = QwenPolicy.FromPretrained(vision ? QwenPolicySnapshot.VisionPath : QwenPolicySnapshot.Path, options: new QwenPolicyOptions { MaxNewTokens = 5, Seed = 3 });
        PolicyPrompt[] prompts = vision
            ? [policy.CreatePrompt("Where is the square?", "left", QwenPolicySnapshot.Image(84, 56, seed: 1)), policy.CreatePrompt("Colour of the ball?", "red")]
            : [policy.CreatePrompt("Where is the square?", "left"), policy.CreatePrompt("Colour of the ball?", "red", choices: ["red", "blue"])];
        var before = policy.GetState().ToDictionary(p => p.Key, p => p.Value.detach().clone().DetachFromDisposeScope());
        try
        {
            var options = new GrpoTrainerOptions
            {
                GroupSize = 4,
                Sampling = policy.CreateSamplingOptions(),
                LearningRate = 1e-3,
                WarmupRatio = 0,
                MaxSteps = 1,
                Seed = 7,
            };
            // A reward with spread inside every group: the share of letters among the evidence's characters.
            using var reward = new TextReward(text => text.Length == 0 ? 0 : text.Count(char.IsLetter) / (double)text.Length);
            using (var trainer = new GrpoTrainer(policy, reward, options))
            {
                var record = await trainer.StepAsync(prompts);

                record.RolloutCount.Should().Be(8);
                double.IsFinite(record.Loss).Should().BeTrue();
                record.GradNorm.Should().BeGreaterThan(0);
                record.OptimizerSteps.Should().Be(1);
            }

            var after = policy.GetState();
            after.Keys.Should().Contain(["model.embed_tokens.weight", "model.layers.0.self_attn.q_proj.weight", "model.layers.1.mlp.down_proj.weight", "lm_head.weight"]);
            if (vision)
            {
                after.Keys.Should().Contain(["visual.patch_embed.proj.weight", "visual.merger.mlp.0.weight"]);
            }

            double changed = after.Max(p => (p.Value - before[p.Key]).abs().max().item<float>());
            changed.Should().BeGreaterThan(1e-5f, "one Adam step at lr 1e-3 moves the weights");

            // The sampler's log-probs of sampled completions equal the policy's recompute of them (float32, KV cache vs one pass).
            var sampling = policy.CreateSamplingOptions();
            sampling.Seed = 11;
            using (var rollouts = await policy.Sampler.SampleAsync(prompts, 2, sampling))
            using (var scope = NewDisposeScope())
            {
                var recomputed = policy.ComputeLogProbs(rollouts, new PolicyLogProbOptions { Temperature = sampling.Temperature }).LogProbs;
                (recomputed - rollouts.SamplerLogProbs!).masked_fill(rollouts.CompletionMask.logical_not(), 0).abs().max().item<float>().Should().BeLessThan(1e-4f);
            }

            // Hugging Face snapshot round trip: the files transformers / vLLM read, and the same weights and log-probs back.
            policy.SavePretrained(_saved);
            foreach (string file in new[] { "config.json", "generation_config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json" })
            {
                File.Exists(Path.Combine(_saved, file)).Should().BeTrue(file);
            }

            File.Exists(Path.Combine(_saved, "preprocessor_config.json")).Should().Be(vision);
            using var reloaded = QwenPolicy.FromPretrained(_saved);
            var state = reloaded.GetState();
            state.Keys.Should().BeEquivalentTo(after.Keys);
            foreach (var (name, tensor) in after)
            {
                state[name].equal(tensor).all().item<bool>().Should().BeTrue(name);
            }

            using (var rollouts = await policy.Sampler.SampleAsync(prompts, 2, sampling))
            using (var scope = NewDisposeScope())
            {
                var mine = policy.ComputeLogProbs(rollouts, new PolicyLogProbOptions()).LogProbs;
                var theirs = reloaded.ComputeLogProbs(rollouts, new PolicyLogProbOptions()).LogProbs;
                (mine - theirs).abs().max().item<float>().Should().Be(0);
            }
        }
        finally
        {
            foreach (var tensor in before.Values.Concat(prompts.SelectMany(p => p.ModelInputs?.Values ?? [])))
            {
                tensor.Dispose();
            }
        }
    }
}
