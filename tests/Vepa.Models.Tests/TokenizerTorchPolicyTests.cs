using TorchSharp;
using TorchSharp.Modules;
using Vepa.Grpo;
using static TorchSharp.torch;

namespace Vepa.Models.Tests;

/// <summary>The tokenizer, chat template and generation config plugged into <see cref="TorchPolicy"/> on a tiny snapshot folder.</summary>
public class TokenizerTorchPolicyTests
{
    [Fact]
    public async Task A_TorchPolicy_samples_a_chat_prompt_decodes_with_the_tokenizer_and_stops_on_the_generation_config_ids()
    {
        // A tiny snapshot: the tiny tokenizer (782 ids) in a model of V = 800 rows, as real Qwen configs pad V.
        string folder = TokenizerFixtures.CopyToTemp(TokenizerFixtures.TinyFolder, "tokenizer.json", "tokenizer_config.json", "generation_config.json");
        File.WriteAllText(Path.Combine(folder, "config.json"), "{\"model_type\": \"qwen2\", \"vocab_size\": 800}");
        var tokenizer = QwenTokenizer.FromPretrained(folder);
        var template = QwenChatTemplate.FromPretrained(folder);
        var sampling = GenerationConfig.FromPretrained(folder).ToSamplingOptions(new SamplingOptions { Temperature = 1.0, MaxNewTokens = 12, Seed = 7 });
        sampling.StopTokenIds.Should().Equal(758, 756);

        var prompt = template.EncodePrompt(tokenizer, [ChatMessage.User("What colour is the sky?")]);
        tokenizer.Decode(prompt.ToArray()).Should().Be("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nWhat colour is the sky?<|im_end|>\n<|im_start|>assistant\n");

        // A head whose only large logit is <|im_end|>: every completion is exactly the stop token, and the text (which leaves
        // the stop token out) is empty.
        using var module = new BagModule(800, 16, favoredId: 758);
        var policy = new TorchPolicy(module, tokenizer);
        using var batch = await policy.Sampler.SampleAsync([new PolicyPrompt("sky", "blue", prompt)], 3, sampling);
        batch.CompletionLengths.Should().Equal(1, 1, 1);
        batch.Truncated.Should().AllBeEquivalentTo(false);
        batch.Texts.Should().AllBe(string.Empty);

        // A head favouring "Ġthe" (one of the real merges in the tiny vocabulary): 12 tokens, truncated, decoded by the tokenizer.
        int the = tokenizer.GetTokenId("Ġthe");
        using var theModule = new BagModule(800, 16, favoredId: the);
        using var theBatch = await new TorchPolicy(theModule, tokenizer).Sampler.SampleAsync([new PolicyPrompt("sky", "blue", prompt)], 2, sampling);
        theBatch.Truncated.Should().AllBeEquivalentTo(true);
        theBatch.Texts.Should().AllBe(string.Concat(Enumerable.Repeat(" the", 12)));

        // A head favouring a padding id of the model (790: in V = 800 but past the tokenizer's 782 ids): no text, no crash.
        using var padModule = new BagModule(800, 16, favoredId: 790);
        using var padBatch = await new TorchPolicy(padModule, tokenizer).Sampler.SampleAsync([new PolicyPrompt("sky", "blue", prompt)], 2, sampling);
        padBatch.CompletionIds[0, 0].item<long>().Should().Be(790);
        padBatch.Texts.Should().AllBe(string.Empty);
    }

    /// <summary>Embedding + LM head; the head is zero except a large row for <c>favoredId</c>.</summary>
    private sealed class BagModule : PolicyModule
    {
        private readonly int _vocabulary;
        private readonly int _hidden;
        private readonly long _favoredId;
        private readonly Embedding embed;
        private readonly Parameter head;

        public BagModule(int vocabulary, int hidden, long favoredId)
            : base(nameof(BagModule))
        {
            _vocabulary = vocabulary;
            _hidden = hidden;
            _favoredId = favoredId;
            embed = nn.Embedding(vocabulary, hidden);
            head = new Parameter(zeros(vocabulary, hidden));
            RegisterComponents();
            using (no_grad())
            {
                embed.weight!.fill_(1.0);
                head[favoredId].fill_(10.0);
            }
        }

        public override Tensor LmHeadWeight => head;

        public override Tensor Forward(Tensor? prefix, Tensor tokenIds, KeyValueCache? cache) => embed.forward(tokenIds);

        public override PolicyModule CloneArchitecture() => new BagModule(_vocabulary, _hidden, _favoredId);
    }
}
