using TorchSharp;
using Vepa.Grpo;
using static TorchSharp.torch;

namespace Vepa.Models.Tests;

/// <summary>The tiny Qwen2 snapshot trained in bfloat16 mixed precision, with its LM head in float32 and token-budget micro-batches.</summary>
public sealed class QwenMixedPrecisionTrainingTests
{
    [Fact]
    public async Task A_bfloat16_step_trains_the_tiny_Qwen2_whose_log_probs_follow_the_float32_model()
    {
        var qwenOptions = new QwenPolicyOptions { MaxNewTokens = 5, Seed = 3 };
        using var exact = QwenPolicy.FromPretrained(QwenPolicySnapshot.Path, options: qwenOptions);
        using var policy = QwenPolicy.FromPretrained(QwenPolicySnapshot.Path, dtype: ScalarType.BFloat16, options: qwenOptions);
        PolicyPrompt[] prompts = [policy.CreatePrompt("Where is the square?", "left"), policy.CreatePrompt("Colour of the ball?", "red")];
        var before = policy.GetState().ToDictionary(p => p.Key, p => p.Value.to(ScalarType.Float32).DetachFromDisposeScope());
        using var reward = new TextReward(text => text.Length == 0 ? 0 : text.Count(char.IsLetter) / (double)text.Length);
        using var trainer = new GrpoTrainer(policy, reward, new GrpoTrainerOptions
        {
            GroupSize = 4,
            Sampling = policy.CreateSamplingOptions(),
            LearningRate = 1e-3,
            WarmupRatio = 0,
            MaxSteps = 1,
            Seed = 7,
            Precision = TrainingPrecision.BFloat16,
            LmHeadFloat32 = true,
            MicroBatchTokenBudget = 64,
        });

        // Log-probs of the float32 model's samples: the bfloat16 model (float32 head) follows it within bfloat16's rounding
        // of weights and activations (u = 2^-8 relative, on log-probs of order 1-10).
        var sampling = policy.CreateSamplingOptions();
        sampling.Seed = 11;
        using (var rollouts = await exact.Sampler.SampleAsync(prompts, 2, sampling))
        using (var scope = NewDisposeScope())
        {
            var options = new PolicyLogProbOptions { Temperature = sampling.Temperature };
            var reference = exact.ComputeLogProbs(rollouts, options).LogProbs;
            var mixed = policy.ComputeLogProbs(rollouts, options).LogProbs;
            mixed.dtype.Should().Be(ScalarType.Float32);
            double difference = (mixed - reference).abs().masked_select(rollouts.CompletionMask).max().item<float>();
            double scale = reference.abs().masked_select(rollouts.CompletionMask).max().item<float>();
            Console.WriteLine($"tiny Qwen2, bfloat16 with a float32 head vs float32: largest log-prob difference {difference:E2} (largest |log-prob| {scale:F2})");
            difference.Should().BeLessThan(2 * scale / 256);   // measured: 9.3e-3 of 8.8, a quarter of u
        }

        var record = await trainer.StepAsync(prompts);

        double.IsFinite(record.Loss).Should().BeTrue();
        record.GradNorm.Should().BeGreaterThan(0);
        record.OptimizerSteps.Should().Be(1);
        record.SkippedOptimizerSteps.Should().Be(0);
        record.UpdateTokensComputed.Should().BeGreaterThan(0);
        policy.TrainableParameters.Should().OnlyContain(p => p.dtype == ScalarType.BFloat16);
        var after = policy.GetState();
        double changed = after.Max(p => (p.Value.to(ScalarType.Float32) - before[p.Key]).abs().max().item<float>());
        changed.Should().BeGreaterThan(1e-4, "one Adam step at lr 1e-3 moves weights by more than their bfloat16 ulp");
    }
}
