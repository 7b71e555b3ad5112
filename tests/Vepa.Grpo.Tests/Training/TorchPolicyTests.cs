using TorchSharp;
using static TorchSharp.torch;

namespace Vepa.Grpo.Tests.Training;

public sealed class TorchPolicyTests
{
    [Fact]
    public async Task A_vision_language_module_samples_scores_and_trains_its_patch_encoder()
    {
        var module = new TinyCausalModule(ToyTask.Vocabulary.Length, 8, seed: 5, imageSize: 4);
        module.to(ScalarType.Float64);
        using var policy = new TorchPolicy(module, ToyTask.Tokenizer);
        using var scope = NewDisposeScope();
        using var generator = new Generator(3);
        var red = rand([3, 4, 4], generator: generator, dtype: ScalarType.Float64);
        var blue = rand([3, 4, 4], generator: generator, dtype: ScalarType.Float64);
        // Two image prompts (no question tokens, only <bos>) and one with a question token: two buckets.
        PolicyPrompt[] prompts = [new("What color?", "red", [1], red), new("What color?", "blue", [1], blue), new("Which?", "red", [1, 2], red)];

        using var rollouts = await policy.Sampler.SampleAsync(prompts, 3, new SamplingOptions { Temperature = 1.0, MaxNewTokens = 4, StopTokenIds = [0], Seed = 4 });
        int[] rows = [7, 0, 4, 8, 2];
        var logProbs = policy.ComputeLogProbs(rollouts, new PolicyLogProbOptions { Temperature = 0.8, Rows = rows }).LogProbs;

        // Reference: one plain forward per row with its own image prefix, full logits and log_softmax.
        for (int i = 0; i < rows.Length; i++)
        {
            int row = rows[i];
            var prompt = prompts[row / 3];
            var prefix = module.EncodePrefix([prompt])!;
            var completion = rollouts.CompletionIds[row].unsqueeze(0);
            long t = completion.shape[1], l = prompt.PromptTokenIds.Count;
            var input = cat([tensor(prompt.PromptTokenIds.ToArray()).unsqueeze(0), completion.narrow(1, 0, t - 1)], 1);
            var hidden = module.Forward(prefix, input, null);
            var expected = (hidden.narrow(1, prefix.shape[1] + l - 1, t).matmul(module.LmHeadWeight.t()) / 0.8)
                .log_softmax(-1).gather(-1, completion.unsqueeze(-1)).reshape(t);
            var mask = rollouts.CompletionMask[row];
            (logProbs[i] - expected).masked_fill(mask.logical_not(), 0).abs().max().item<double>().Should().BeLessThan(1e-10, $"row {row}");
        }

        // Gradients reach the patch encoder through the prefix.
        logProbs.masked_fill(rollouts.CompletionMask.index_select(0, tensor(rows.Select(r => (long)r).ToArray())).logical_not(), 0).sum().backward();
        var encoder = module.named_parameters().Single(p => p.name == "patches.weight").parameter;
        encoder.grad!.abs().sum().item<double>().Should().BeGreaterThan(0);
    }

    [Fact]
    public async Task A_reference_copy_is_frozen_and_independent_of_later_updates()
    {
        var module = new TinyCausalModule(ToyTask.Vocabulary.Length, 8, seed: 5);
        using var policy = new TorchPolicy(module, ToyTask.Tokenizer);
        using var reference = policy.CreateReference();
        using var rollouts = await policy.Sampler.SampleAsync([ToyTask.Prompt(1)], 4, new SamplingOptions { MaxNewTokens = 3, Seed = 1 });
        using var scope = NewDisposeScope();
        var before = reference.ComputeLogProbs(rollouts, new PolicyLogProbOptions()).LogProbs.detach().clone();
        (policy.ComputeLogProbs(rollouts, new PolicyLogProbOptions()).LogProbs.detach() - before).abs().max().item<float>().Should().Be(0, "the copy starts equal");

        using (no_grad())
        {
            foreach (var p in policy.TrainableParameters)
            {
                p.add_(0.5);
            }
        }

        reference.TrainableParameters.Should().BeEmpty();
        reference.GetState().Values.Should().OnlyContain(t => !t.requires_grad);
        var after = reference.ComputeLogProbs(rollouts, new PolicyLogProbOptions()).LogProbs;
        (after - before).abs().max().item<float>().Should().Be(0);
    }

    [Fact]
    public void Safetensors_round_trip_the_state_exactly_and_reject_another_shape()
    {
        using var folder = new TempFolder();
        string path = Path.Combine(folder.Path, "policy.safetensors");
        var module = new TinyCausalModule(ToyTask.Vocabulary.Length, 8, seed: 5);
        module.to(ScalarType.Float64);
        using var policy = new TorchPolicy(module, ToyTask.Tokenizer);
        var other = new TinyCausalModule(ToyTask.Vocabulary.Length, 8, seed: 6);
        other.to(ScalarType.Float64);
        using var copy = new TorchPolicy(other, ToyTask.Tokenizer);
        using var wider = new TorchPolicy(new TinyCausalModule(ToyTask.Vocabulary.Length, 12, seed: 6), ToyTask.Tokenizer);

        policy.SaveSafetensors(path);
        copy.LoadSafetensors(path);

        foreach (var (name, value) in policy.GetState())
        {
            value.equal(copy.GetState()[name]).all().item<bool>().Should().BeTrue(name);
        }

        // The header is the safetensors format: 8-byte little-endian length, then JSON naming each tensor with dtype F64.
        byte[] bytes = File.ReadAllBytes(path);
        long headerLength = BitConverter.ToInt64(bytes, 0);
        string header = System.Text.Encoding.UTF8.GetString(bytes, 8, (int)headerLength);
        header.Should().Contain("\"head\"").And.Contain("\"F64\"");

        var load = () => wider.LoadSafetensors(path);
        load.Should().Throw<InvalidDataException>().WithMessage($"{path}: *does not fit*");
    }

    [Fact]
    public void A_tokenizer_whose_vocabulary_differs_from_the_LM_head_is_rejected()
    {
        var create = () => new TorchPolicy(new TinyCausalModule(7, 8, seed: 1), ToyTask.Tokenizer);

        create.Should().Throw<ArgumentException>().WithMessage("The tokenizer's 10 ids must fit the LM head's V = 7 rows*");
    }
}
