using TorchSharp;
using static TorchSharp.torch;

namespace Vepa.Grpo.Tests.Training;

[Collection("Sequential")]
public sealed class TrainerEquivalenceTests
{
    [Theory]
    [InlineData(1, 0.0, 1.0)]
    [InlineData(2, 0.0, 1.0)]
    [InlineData(2, 0.05, 0.3)]
    public async Task One_trainer_step_equals_the_hand_written_kernel_composition_in_float64(int iterations, double entropyCoefficient, double topEntropyQuantile)
    {
        const int G = 4;
        const double Temperature = 0.9, LearningRate = 0.02, Beta = 0.01, MaxNorm = 0.5;
        var module = new TinyCausalModule(ToyTask.Vocabulary.Length, 8, seed: 11);
        module.to(ScalarType.Float64);
        using var policy = new TorchPolicy(module, ToyTask.Tokenizer);
        // A reward with signal in every group: the number of words of the completion.
        using var reward = new ExactAnswerRewardModel(r => r.Evidence.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length);
        var options = new GrpoTrainerOptions
        {
            GroupSize = G,
            Sampling = new SamplingOptions { Temperature = Temperature, MaxNewTokens = 4, StopTokenIds = [0] },
            LearningRate = LearningRate,
            WarmupSteps = 0,
            MaxGradNorm = MaxNorm,
            Iterations = iterations,
            Loss = new PolicyLossOptions { Beta = Beta, EntropyCoefficient = entropyCoefficient, TopEntropyQuantile = topEntropyQuantile },
            Seed = 3,
        };
        var prompts = Enumerable.Range(0, 6).Select(i => ToyTask.Prompt(i % 4)).ToArray();

        // The independent copy the hand-written step trains, and the frozen reference.
        var copy = (TinyCausalModule)module.CloneArchitecture();
        copy.to(ScalarType.Float64);
        var frozen = (TinyCausalModule)module.CloneArchitecture();
        frozen.to(ScalarType.Float64);
        using (no_grad())
        {
            foreach (var (name, value) in module.state_dict())
            {
                copy.state_dict()[name].copy_(value);
                frozen.state_dict()[name].copy_(value);
            }
        }

        // The same rollouts the trainer will draw: its sampler, its seed for step 1, the same weights.
        var sampling = options.Sampling.Clone();
        sampling.Seed = StepSeeds.Derive(options.Seed, 1, StepSeeds.Sampling, 0);
        using var rollouts = await policy.Sampler.SampleAsync(prompts, G, sampling);
        double[] rewards = rollouts.Texts.Select(text => (double)text.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length).ToArray();
        rewards.Distinct().Count().Should().BeGreaterThan(1, "the batch must carry signal for the comparison to mean something");

        using var trainer = new GrpoTrainer(policy, reward, options);
        var record = await trainer.StepAsync(prompts);

        using (var scope = NewDisposeScope())
        {
            var promptIds = new long[prompts.Length * G, 2];
            for (int r = 0; r < prompts.Length * G; r++)
            {
                promptIds[r, 0] = prompts[r / G].PromptTokenIds[0];
                promptIds[r, 1] = prompts[r / G].PromptTokenIds[1];
            }

            var completions = rollouts.CompletionIds;
            var mask = rollouts.CompletionMask;
            var advantages = tensor(PlainGrpoReference.Advantages(rewards, G, 1e-4), ScalarType.Float64);
            Tensor old, reference;
            using (no_grad())
            {
                old = PlainGrpoReference.LogProbs(copy, promptIds, completions, Temperature);
                reference = PlainGrpoReference.LogProbs(frozen, promptIds, completions, Temperature);
            }

            var parameters = copy.parameters().ToArray();
            using var adam = optim.AdamW(parameters, LearningRate, 0.9, 0.999, 1e-8, 0.0);
            for (int i = 0; i < iterations; i++)
            {
                adam.zero_grad();
                var (logProbs, entropy) = PlainGrpoReference.LogProbsAndEntropy(copy, promptIds, completions, Temperature);
                PlainGrpoReference.Loss(
                    logProbs, iterations == 1 ? logProbs.detach() : old, reference, advantages, mask, 0.2, Beta, entropy, entropyCoefficient, topEntropyQuantile).backward();
                PlainGrpoReference.ClipGradients(parameters, MaxNorm);
                adam.step();
            }

            double largest = 0;
            foreach (var (name, value) in module.state_dict())
            {
                largest = Math.Max(largest, (value - copy.state_dict()[name]).abs().max().item<double>());
            }

            largest.Should().BeLessThan(1e-6);
            Console.WriteLine($"equivalence, mu = {iterations}: largest parameter difference {largest:E2}");
            double moved = module.state_dict().Sum(e => (e.Value - frozen.state_dict()[e.Key]).abs().max().item<double>());
            moved.Should().BeGreaterThan(1e-3, "the step must actually move the parameters");
        }

        record.OptimizerSteps.Should().Be(iterations);
        if (entropyCoefficient > 0)
        {
            record.EntropyBonus.Should().BeGreaterThan(0);
            record.EntropyMaskedFraction.Should().BeInRange(0.5, 0.8, "ρ = 0.3 keeps about 30% of the tokens (more with ties and few tokens)");
        }
        else
        {
            record.EntropyBonus.Should().Be(0);
            record.EntropyMaskedFraction.Should().Be(0);
        }

        record.RewardMean.Should().BeApproximately(rewards.Average(), 1e-12);
        copy.Dispose();
        frozen.Dispose();
    }

    [Fact]
    public async Task With_one_iteration_and_one_minibatch_no_forward_pass_computes_old_log_probs()
    {
        var module = new TinyCausalModule(ToyTask.Vocabulary.Length, 8, seed: 2, cache: false);
        using var policy = new TorchPolicy(module, ToyTask.Tokenizer);
        using var reward = new ExactAnswerRewardModel();
        using var trainer = new GrpoTrainer(policy, reward, new GrpoTrainerOptions
        {
            Sampling = new SamplingOptions { Temperature = 1.0, MaxNewTokens = 3 },
            Loss = new PolicyLossOptions { Beta = 0 },
            ComputeEntropy = false,
        });

        await trainer.StepAsync([ToyTask.Prompt(0), ToyTask.Prompt(1)]);

        // Sampling without a cache and without stop tokens: one pass per new token (3); the update: exactly one more.
        module.ForwardCalls.Should().Be(4);
    }
}
