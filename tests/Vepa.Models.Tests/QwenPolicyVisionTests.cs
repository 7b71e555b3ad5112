using TorchSharp;
using Vepa.Grpo;
using static TorchSharp.torch;

namespace Vepa.Models.Tests;

/// <summary><see cref="QwenPolicy"/> over a tiny random Qwen2-VL snapshot: images interleaved in the chat prompt, padded batches, cached decoding.</summary>
public sealed class QwenPolicyVisionTests
{
    [Fact]
    public void An_image_prompt_puts_the_image_pad_run_inside_the_user_turn_and_carries_the_processors_tensors()
    {
        using var policy = QwenPolicy.FromPretrained(QwenPolicySnapshot.VisionPath);
        policy.SupportsImages.Should().BeTrue();

        var prompt = policy.CreatePrompt("What is in the square?", "a light", QwenPolicySnapshot.Image(84, 56, seed: 1));

        // 84×56 px → 6×4 patches of 14 px → 24 patches → 6 merged tokens (2×2 merge).
        string expected = "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n<|vision_start|>" +
            string.Concat(Enumerable.Repeat("<|image_pad|>", 6)) + "<|vision_end|>" + policy.Instruction("What is in the square?") +
            "<|im_end|>\n<|im_start|>assistant\n";
        policy.Tokenizer.Decode(prompt.PromptTokenIds.ToArray()).Should().Be(expected);
        prompt.PromptTokenIds.Should().Equal(policy.Tokenizer.Encode(expected, splitSpecialTokens: false));
        prompt.ModelInputs!["image_grid_thw"].data<long>().ToArray().Should().Equal(1, 4, 6);
        prompt.ModelInputs["pixel_values"].shape.Should().Equal(24, 3 * 2 * 14 * 14);
        DisposeInputs(prompt);
    }

    [Fact]
    public async Task Image_and_text_prompts_of_different_lengths_score_in_one_padded_batch_as_the_model_scores_each_alone()
    {
        using var policy = QwenPolicy.FromPretrained(QwenPolicySnapshot.VisionPath, dtype: ScalarType.Float64);
        var model = (Qwen2VLForConditionalGeneration)policy.Model;
        PolicyPrompt[] prompts =
        [
            policy.CreatePrompt("Where is the square?", "left", QwenPolicySnapshot.Image(84, 56, seed: 1)),
            policy.CreatePrompt("Colour?", "red"),
            policy.CreatePrompt("How many squares are there in this picture?", "one", QwenPolicySnapshot.Image(56, 56, seed: 2), choices: ["one", "two"]),
        ];
        try
        {
            var sampling = policy.CreateSamplingOptions();
            sampling.MaxNewTokens = 5;
            sampling.Seed = 3;
            using var rollouts = await policy.Sampler.SampleAsync(prompts, 2, sampling);
            using var scope = NewDisposeScope();

            var logProbs = policy.ComputeLogProbs(rollouts, new PolicyLogProbOptions { Temperature = 0.9 }).LogProbs;

            // Reference: qwen-vl's own Forward on each row alone (its image scatter and get_rope_index over the whole unpadded row),
            // logits over the tokenizer's ids, log_softmax(z / 0.9), gather.
            var head = model.LmHeadWeight.narrow(0, 0, QwenPolicySnapshot.TokenCount);
            for (int row = 0; row < rollouts.Count; row++)
            {
                var prompt = rollouts.PromptOf(row);
                var completion = rollouts.CompletionIds[row].unsqueeze(0);
                long t = completion.shape[1], l = prompt.PromptTokenIds.Count;
                var input = cat([tensor(prompt.PromptTokenIds.ToArray()).unsqueeze(0), completion.narrow(1, 0, t - 1)], 1);
                var hidden = model.Forward(input, pixelValues: prompt.ModelInputs?["pixel_values"], imageGridThw: prompt.ModelInputs?["image_grid_thw"]).narrow(1, l - 1, t);
                var expected = (hidden.matmul(head.t()) / 0.9).log_softmax(-1).gather(-1, completion.unsqueeze(-1)).reshape(t);
                (logProbs[row] - expected).masked_fill(rollouts.CompletionMask[row].logical_not(), 0).abs().max().item<double>()
                    .Should().BeLessThan(1e-9, $"row {row}");
            }

            // The KV-cached sampler (rope deltas from the cache) saw the same distribution.
            (logProbs - rollouts.SamplerLogProbs!).masked_fill(rollouts.CompletionMask.logical_not(), 0).abs().max().item<double>().Should().BeLessThan(1e-9);
        }
        finally
        {
            DisposeInputs(prompts);
        }
    }

    [Fact]
    public async Task Cached_sampling_draws_exactly_what_recomputing_draws()
    {
        using var cached = QwenPolicy.FromPretrained(QwenPolicySnapshot.VisionPath, dtype: ScalarType.Float64);
        using var recompute = QwenPolicy.FromPretrained(QwenPolicySnapshot.VisionPath, dtype: ScalarType.Float64, options: new QwenPolicyOptions { UseKeyValueCache = false });
        PolicyPrompt[] prompts =
        [
            cached.CreatePrompt("Where is the square?", "left", QwenPolicySnapshot.Image(84, 56, seed: 4)),
            cached.CreatePrompt("What shape is it, and what colour?", "square"),
        ];
        try
        {
            var sampling = cached.CreateSamplingOptions();
            sampling.MaxNewTokens = 6;
            sampling.Seed = 9;

            using var a = await cached.Sampler.SampleAsync(prompts, 3, sampling);
            using var b = await recompute.Sampler.SampleAsync(prompts, 3, sampling);

            a.CompletionIds.data<long>().ToArray().Should().Equal(b.CompletionIds.data<long>().ToArray());
            (a.SamplerLogProbs! - b.SamplerLogProbs!).abs().max().item<double>().Should().BeLessThan(1e-9);
            a.CompletionLengths.Max().Should().BeGreaterThan(2, "several cached steps ran, each placed by the rope delta");
        }
        finally
        {
            DisposeInputs(prompts);
        }
    }

    [Fact]
    public async Task A_text_model_refuses_an_image_and_a_row_whose_placeholders_do_not_match_its_images_is_named()
    {
        using var text = QwenPolicy.FromPretrained(QwenPolicySnapshot.Path);
        var withImage = () => text.CreatePrompt("Where?", "left", QwenPolicySnapshot.Image(56, 56, seed: 1));
        withImage.Should().Throw<NotSupportedException>().WithMessage("*reads no images*Qwen2-VL*");

        using var vision = QwenPolicy.FromPretrained(QwenPolicySnapshot.VisionPath);
        var good = vision.CreatePrompt("Where?", "left", QwenPolicySnapshot.Image(56, 56, seed: 1));
        int first = good.PromptTokenIds.ToList().IndexOf(QwenPolicySnapshot.ImagePad);
        good.PromptTokenIds.Count(id => id == QwenPolicySnapshot.ImagePad).Should().Be(4, "56×56 px is 4×4 patches, 4 merged tokens");
        var bad = new PolicyPrompt("Where?", "left", good.PromptTokenIds.Where((_, i) => i != first).ToArray()) { Id = "cut", ModelInputs = good.ModelInputs };
        var sample = () => vision.Sampler.SampleAsync([bad], 1, new SamplingOptions { MaxNewTokens = 1 });
        await sample.Should().ThrowAsync<ArgumentException>().WithMessage("Row 0 (prompt \"cut\") has 3 image tokens (id 768) but its images give 4 features*");
        DisposeInputs(good);
    }

    private static void DisposeInputs(params PolicyPrompt[] prompts)
    {
        foreach (var tensor in prompts.SelectMany(p => p.ModelInputs?.Values ?? []))
        {
            tensor.Dispose();
        }
    }
}
