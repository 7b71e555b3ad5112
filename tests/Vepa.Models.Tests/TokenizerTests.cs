using System.Text;

namespace Vepa.Models.Tests;

/// <summary>The tiny fixture tokenizer, sizes and ids, decoding rules and the pre-tokenizer's Unicode handling.</summary>
public class TokenizerTests
{
    [Fact]
    public void The_tiny_tokenizer_has_782_ids_and_agrees_with_the_reference()
    {
        var tiny = QwenTokenizer.FromPretrained(TokenizerFixtures.TinyFolder);
        tiny.TokenCount.Should().Be(782);
        tiny.VocabularySize.Should().Be(782, "there is no config.json in the folder");
        tiny.GetTokenId("<|endoftext|>").Should().Be(756);
        tiny.GetTokenId("<|im_start|>").Should().Be(757);
        tiny.GetTokenId("<|im_end|>").Should().Be(758);
        tiny.GetTokenId("<|image_pad|>").Should().Be(768);
        tiny.GetTokenId("</think>").Should().Be(781);
        tiny.EosTokenId.Should().Be(758);
        tiny.PadTokenId.Should().Be(756);

        var mismatches = TokenizerFixtures.TinyCases
            .Where(c => !tiny.Encode(c.Text).SequenceEqual(c.Ids) || tiny.Decode(c.Ids) != c.Decoded)
            .Select(c => $"\"{c.Text}\": expected [{string.Join(",", c.Ids)}] got [{string.Join(",", tiny.Encode(c.Text))}]")
            .ToList();
        TokenizerFixtures.TinyCases.Sum(c => c.Ids.Length).Should().BeGreaterThan(4000);
        mismatches.Should().BeEmpty();
    }

    [Fact]
    public void The_real_tokenizer_reports_its_ids_and_the_model_vocabulary_separately()
    {
        var real = TokenizerFixtures.Real;
        real.TokenCount.Should().Be(151669, "151643 BPE tokens + 26 added tokens, the last </think> = 151668");
        real.VocabularySize.Should().Be(151669, "the fixture folder has no config.json");
        real.AddedTokens.Should().HaveCount(26);
        real.SpecialTokens.Should().HaveCount(14).And.ContainKey("<|image_pad|>").And.NotContainKey("<think>");
        real.EosToken.Should().Be("<|im_end|>");
        real.EosTokenId.Should().Be(151645);
        real.PadTokenId.Should().Be(151643);
        real.BosToken.Should().BeNull();
        real.GetToken(9707).Should().Be("Hello");
        real.GetToken(220).Should().Be("Ġ");

        // With the model's padded vocabulary (Qwen2-VL-2B: 151936 > 151669; here the tiny tokenizer's 782 ids in a model of 800),
        // ids past the tokenizer's decode to nothing, as in Hugging Face.
        string folder = TokenizerFixtures.CopyToTemp(TokenizerFixtures.TinyFolder, "tokenizer.json", "tokenizer_config.json");
        File.WriteAllText(Path.Combine(folder, "config.json"), "{\"model_type\": \"qwen2_vl\", \"vocab_size\": 800}");
        var padded = QwenTokenizer.FromPretrained(folder);
        padded.VocabularySize.Should().Be(800);
        padded.TokenCount.Should().Be(782);
        padded.Decode([39, 782, 799]).Should().Be("H");
        padded.GetToken(799).Should().BeNull();
        FluentActions.Invoking(() => padded.Decode([800])).Should().Throw<ArgumentOutOfRangeException>().WithMessage("*position 0*[0, 800)*");
        FluentActions.Invoking(() => padded.Decode([-1])).Should().Throw<ArgumentOutOfRangeException>();
        QwenTokenizer.FromPretrained(folder, modelVocabularySize: 1024).VocabularySize.Should().Be(1024);
    }

    [Fact]
    public void Special_tokens_are_skipped_on_request_but_other_added_tokens_are_kept()
    {
        var real = TokenizerFixtures.Real;
        long[] ids = [151644, 872, 198, 151667, 9707, 151668, 151645];
        real.Decode(ids).Should().Be("<|im_start|>user\n<think>Hello</think><|im_end|>");
        real.Decode(ids, skipSpecialTokens: true).Should().Be("user\n<think>Hello</think>");
    }

    [Fact]
    public void Broken_UTF8_decodes_to_replacement_characters_and_unpaired_surrogates_are_rejected()
    {
        var real = TokenizerFixtures.Real;
        // 😀 is F0 9F 98 80; the byte tokens 'ð' (F0) and 'Ł' (9F) alone are an incomplete sequence: one U+FFFD (maximal subpart).
        var ids = real.Encode("😀").ToArray();
        real.Decode(ids).Should().Be("😀");
        long f0 = real.GetTokenId("ð");
        long x9f = real.GetTokenId("Ł");
        real.Decode([f0, x9f]).Should().Be("\uFFFD");
        real.Decode([f0, x9f, 9707]).Should().Be("\uFFFDHello");
        FluentActions.Invoking(() => real.Encode("a\uD83Db")).Should().Throw<ArgumentException>().WithMessage("*unpaired UTF-16 surrogate (U+D83D) at index 1*");
    }

    [Fact]
    public void Pre_tokenization_runs_over_code_points_with_Hugging_Face_white_space()
    {
        // Hand-derived from Qwen's pattern under Oniguruma (Hugging Face): \s is Unicode White_Space (includes U+0085, not U+FEFF),
        // and a supplementary character is one character, so an emoji is the optional one-character prefix of a letter run.
        var real = TokenizerFixtures.Real;
        var splitter = new CodePointRegexPreTokenizer(new System.Text.RegularExpressions.Regex(real.PreTokenizerPattern));
        Pieces(splitter, "🎉Congrats").Should().Equal("🎉Congrats");
        Pieces(splitter, "𝐀𝐁𝐂 x").Should().Equal("𝐀𝐁𝐂", " x");
        Pieces(splitter, "𝟏𝟐").Should().Equal("𝟏", "𝟐");
        Pieces(splitter, "  \u0085").Should().Equal("  \u0085");
        Pieces(splitter, "a\uFEFF  b").Should().Equal("a", "\uFEFF", " ", " b");
        Pieces(splitter, "it's 12ab\r\n\r\n").Should().Equal("it", "'s", " ", "1", "2", "ab", "\r\n\r\n");
    }

    [Fact]
    public void Text_that_merely_resembles_a_special_token_stays_text()
    {
        var real = TokenizerFixtures.Real;
        foreach (string text in (string[])["<|im_end|", "<|IM_END|>", "<|im_end |>", "< |im_start|>", "<|endoftext"])
        {
            real.Encode(text).Should().NotContain(id => id >= 151643, text);
        }

        real.Encode("<<|im_end|>>").Should().Equal(real.Encode("<").Concat([151645L]).Concat(real.Encode(">")));
    }

    private static List<string> Pieces(CodePointRegexPreTokenizer splitter, string text) =>
        splitter.Split(text).Select(p => text.Substring(p.Offset, p.Length)).ToList();
}
