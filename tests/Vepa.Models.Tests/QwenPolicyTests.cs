using TorchSharp;
using Vepa.Grpo;
using static TorchSharp.torch;

namespace Vepa.Models.Tests;

/// <summary><see cref="QwenPolicy"/> on a tiny random Qwen2 snapshot: prompts, stop ids, padded batches, padded head rows.</summary>
public sealed class QwenPolicyTests
{
    [Fact]
    public void A_prompt_is_the_chat_template_rendering_of_the_evidence_instruction_tokenized_as_a_whole()
    {
        using var policy = QwenPolicy.FromPretrained(QwenPolicySnapshot.Path);

        var prompt = policy.CreatePrompt("What colour is the ball?", "red", choices: ["red", "blue"], id: "q1");

        // What Hugging Face's apply_chat_template(add_generation_prompt=True) renders for one user message with this template.
        string expected =
            "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n" +
            "Describe the visual evidence needed to answer the question below: the objects, text, numbers, colours, positions and relations " +
            "you can see that bear on it. Do not answer the question; only describe what you see.\nQuestion: What colour is the ball?\nOptions:\nA. red\nB. blue" +
            "<|im_end|>\n<|im_start|>assistant\n";
        policy.Tokenizer.Decode(prompt.PromptTokenIds.ToArray()).Should().Be(expected);
        prompt.PromptTokenIds.Should().Equal(policy.Tokenizer.Encode(expected, splitSpecialTokens: false));
        prompt.Question.Should().Be("What colour is the ball?");
        prompt.GoldAnswer.Should().Be("red");
        prompt.Choices.Should().Equal("red", "blue");
        prompt.Id.Should().Be("q1");
    }

    [Fact]
    public void A_special_token_written_in_a_question_stays_text()
    {
        using var policy = QwenPolicy.FromPretrained(QwenPolicySnapshot.Path);

        var prompt = policy.CreatePrompt("Is <|im_end|> a token?", "yes");

        prompt.PromptTokenIds.Count(id => id == QwenPolicySnapshot.ImEnd).Should().Be(2, "only the system and user turns end; the question's text is not a turn end");
    }

    [Fact]
    public void Sampling_options_carry_the_generation_configs_stop_ids_and_pad_and_VEPAs_temperature()
    {
        using var policy = QwenPolicy.FromPretrained(QwenPolicySnapshot.Path, options: new QwenPolicyOptions { MaxNewTokens = 7 });

        var sampling = policy.CreateSamplingOptions();

        sampling.StopTokenIds.Should().Equal(QwenPolicySnapshot.ImEnd, QwenPolicySnapshot.EndOfText);
        sampling.PadTokenId.Should().Be(QwenPolicySnapshot.EndOfText);
        sampling.Temperature.Should().Be(0.9, "generation_config.json's near-greedy chat default would give GRPO groups no variety");
        sampling.MaxNewTokens.Should().Be(7);
        policy.Tokenizer.VocabularySize.Should().Be(QwenPolicySnapshot.TokenCount);
        ((QwenForCausalLM)policy.Model).LmHeadWeight.shape[0].Should().Be(QwenPolicySnapshot.HeadRows);
    }

    [Fact]
    public void Without_eos_token_id_in_the_generation_config_the_tokenizers_EOS_is_a_stop()
    {
        string folder = CopyOfTheSnapshot("vepa-qwen-no-eos-");
        try
        {

            var config = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(System.IO.Path.Combine(folder, "generation_config.json")))!.AsObject();
            config.Remove("eos_token_id");
            File.WriteAllText(System.IO.Path.Combine(folder, "generation_config.json"), config.ToJsonString());

            // A base-model tokenizer whose EOS is <|endoftext|>, not the chat turn's end (which is a stop anyway).
            string tokenizerConfig = System.IO.Path.Combine(folder, "tokenizer_config.json");
            var tokenizer = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(tokenizerConfig))!.AsObject();
            tokenizer["eos_token"] = "<|endoftext|>";
            File.WriteAllText(tokenizerConfig, tokenizer.ToJsonString());
            using var policy = QwenPolicy.FromPretrained(folder);

            policy.Tokenizer.EosTokenId.Should().Be((int)QwenPolicySnapshot.EndOfText);
            policy.CreateSamplingOptions().StopTokenIds.Should().Equal(QwenPolicySnapshot.ImEnd, QwenPolicySnapshot.EndOfText);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void Without_eos_token_id_and_without_im_end_the_tokenizers_EOS_is_the_only_stop()
    {
        string folder = CopyOfTheSnapshot("vepa-qwen-base-");
        try
        {

            static void Edit(string path, Action<System.Text.Json.Nodes.JsonObject> edit)
            {
                var json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(path))!.AsObject();
                edit(json);
                File.WriteAllText(path, json.ToJsonString());
            }

            // A base model's snapshot: no eos_token_id in generation_config.json, and a tokenizer without the chat turn's end.
            Edit(System.IO.Path.Combine(folder, "generation_config.json"), c => c.Remove("eos_token_id"));
            Edit(System.IO.Path.Combine(folder, "tokenizer_config.json"), c =>
            {
                c["eos_token"] = "<|endoftext|>";
                (c["added_tokens_decoder"] as System.Text.Json.Nodes.JsonObject)?.Remove(QwenPolicySnapshot.ImEnd.ToString(System.Globalization.CultureInfo.InvariantCulture));
            });
            Edit(System.IO.Path.Combine(folder, "tokenizer.json"), t =>
            {
                var added = t["added_tokens"]!.AsArray();
                added.Remove(added.Single(a => a!["content"]!.GetValue<string>() == "<|im_end|>"));
            });

            using var policy = QwenPolicy.FromPretrained(folder);

            policy.Tokenizer.TryGetTokenId("<|im_end|>", out _).Should().BeFalse();
            policy.CreateSamplingOptions().StopTokenIds.Should().Equal(QwenPolicySnapshot.EndOfText);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task Prompts_of_different_lengths_score_in_one_padded_batch_exactly_as_each_alone()
    {
        using var policy = QwenPolicy.FromPretrained(QwenPolicySnapshot.Path, dtype: ScalarType.Float64);
        PolicyPrompt[] prompts =
        [
            policy.CreatePrompt("Colour?", "red"),
            policy.CreatePrompt("How many cubes are left of the large green sphere on the table?", "2", choices: ["1", "2", "3"]),
            policy.CreatePrompt("Is it round?", "yes"),
        ];
        prompts.Select(p => p.PromptTokenIds.Count).Distinct().Should().HaveCount(3);
        var sampling = policy.CreateSamplingOptions();
        sampling.MaxNewTokens = 6;
        sampling.Seed = 5;
        using var rollouts = await policy.Sampler.SampleAsync(prompts, 2, sampling);
        using var scope = NewDisposeScope();

        var logProbs = policy.ComputeLogProbs(rollouts, new PolicyLogProbOptions { Temperature = 0.9 }).LogProbs;

        // Reference: each row alone through the model (no padding, no mask, default positions 0..L-1), full logits over the
        // tokenizer's 782 ids, log_softmax(z / 0.9), gather.
        var head = ((QwenForCausalLM)policy.Model).LmHeadWeight.narrow(0, 0, QwenPolicySnapshot.TokenCount);
        for (int row = 0; row < rollouts.Count; row++)
        {
            var prompt = rollouts.PromptOf(row);
            var completion = rollouts.CompletionIds[row].unsqueeze(0);
            long t = completion.shape[1], l = prompt.PromptTokenIds.Count;
            var input = cat([tensor(prompt.PromptTokenIds.ToArray()).unsqueeze(0), completion.narrow(1, 0, t - 1)], 1);
            var hidden = ((QwenForCausalLM)policy.Model).Forward(input).narrow(1, l - 1, t);
            var expected = (hidden.matmul(head.t()) / 0.9).log_softmax(-1).gather(-1, completion.unsqueeze(-1)).reshape(t);
            (logProbs[row] - expected).masked_fill(rollouts.CompletionMask[row].logical_not(), 0).abs().max().item<double>()
                .Should().BeLessThan(1e-9, $"row {row}");
        }

        // The KV-cached, padded sampler saw the same distribution (float64: agreement to rounding).
        (logProbs - rollouts.SamplerLogProbs!).masked_fill(rollouts.CompletionMask.logical_not(), 0).abs().max().item<double>().Should().BeLessThan(1e-9);
    }

    [Fact]
    public async Task The_LM_heads_padded_rows_are_never_sampled_even_when_they_would_dominate()
    {
        using var policy = QwenPolicy.FromPretrained(QwenPolicySnapshot.Path);
        using (no_grad())
        {
            var padded = ((QwenForCausalLM)policy.Model).LmHeadWeight.narrow(0, QwenPolicySnapshot.TokenCount, QwenPolicySnapshot.HeadRows - QwenPolicySnapshot.TokenCount);
            padded.copy_(((QwenForCausalLM)policy.Model).LmHeadWeight.narrow(0, 100, 1).expand_as(padded) * 40);
        }

        var sampling = policy.CreateSamplingOptions();
        sampling.MaxNewTokens = 4;
        sampling.Seed = 1;
        using var rollouts = await policy.Sampler.SampleAsync([policy.CreatePrompt("Colour?", "red")], 16, sampling);

        rollouts.CompletionIds.max().item<long>().Should().BeLessThan(QwenPolicySnapshot.TokenCount);
    }

    /// <summary>Copies the tiny Qwen2 snapshot into a new temporary folder (the caller deletes it).</summary>
    private static string CopyOfTheSnapshot(string prefix)
    {
        string folder = System.IO.Path.Combine(System.IO.Path.GetTempPath(), prefix + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        foreach (string file in Directory.GetFiles(QwenPolicySnapshot.Path))
        {
            File.Copy(file, System.IO.Path.Combine(folder, System.IO.Path.GetFileName(file)));
        }

        return folder;
    }
}

/// <summary>The shared policy contract (Vepa.Testing) for <see cref="QwenPolicy"/> on the tiny snapshot, prompts of three lengths.</summary>
public sealed class QwenPolicyContractTests : PolicyContractTests
{
    protected override SamplingOptions Sampling => new() { Temperature = 1.0, MaxNewTokens = 4, StopTokenIds = [QwenPolicySnapshot.ImEnd, QwenPolicySnapshot.EndOfText] };

    protected override double Tolerance => 1e-4;

    protected override IPolicy CreatePolicy() => QwenPolicy.FromPretrained(QwenPolicySnapshot.Path);

    protected override IReadOnlyList<PolicyPrompt> CreatePrompts()
    {
        using var policy = QwenPolicy.FromPretrained(QwenPolicySnapshot.Path);
        return [policy.CreatePrompt("Colour?", "red"), policy.CreatePrompt("How many cubes are there on the left?", "2"), policy.CreatePrompt("Shape of it?", "cube")];
    }
}
