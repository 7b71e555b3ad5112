using System.Text;

namespace Vepa.Models.Tests;

/// <summary>Token-for-token agreement with an independent implementation of Hugging Face tokenizers (@lenml/tokenizers, a JS port)
/// on the real Qwen vocabulary, over the committed corpus (tools/qwen-fixtures/tokenizer/corpus.mjs).</summary>
public class TokenizerAgreementTests
{
    [Fact]
    public void Every_corpus_string_encodes_to_the_reference_ids()
    {
        var tokenizer = TokenizerFixtures.Real;
        var cases = TokenizerFixtures.Cases;
        cases.Count.Should().BeGreaterThan(300);
        var mismatches = new List<string>();
        long tokens = 0;
        foreach (var c in cases)
        {
            var ids = tokenizer.Encode(c.Text);
            tokens += c.Ids.Length;
            if (!ids.SequenceEqual(c.Ids))
            {
                mismatches.Add($"{Show(c.Text)}: expected [{string.Join(",", c.Ids)}] got [{string.Join(",", ids)}]");
            }
        }

        tokens.Should().BeGreaterThan(8000);
        mismatches.Should().BeEmpty("every corpus string must encode exactly as the reference ({0} tokens compared)", tokens);
    }

    [Fact]
    public void The_long_piece_merger_alone_also_gives_the_reference_ids()
    {
        // Pieces over 128 UTF-16 units skip Microsoft.ML.Tokenizers' quadratic merge loop; forcing that path for every piece must
        // still reproduce the reference on the whole corpus.
        var tokenizer = TokenizerFixtures.Real;
        var mismatches = TokenizerFixtures.Cases
            .Where(c => !tokenizer.EncodeWithMergerOnly(c.Text).SequenceEqual(c.Ids))
            .Select(c => $"{Show(c.Text)}: expected [{string.Join(",", c.Ids)}] got [{string.Join(",", tokenizer.EncodeWithMergerOnly(c.Text))}]")
            .ToList();
        mismatches.Should().BeEmpty();
        TokenizerFixtures.Cases.Count(c => c.Text.Length > 128).Should().BeGreaterThan(15);
    }

    [Fact]
    public void Concurrent_encoding_and_decoding_give_the_reference_results()
    {
        var tokenizer = TokenizerFixtures.Real;
        var cases = TokenizerFixtures.Cases;
        int failures = 0;
        Parallel.For(0, cases.Count * 3, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i =>
        {
            var c = cases[i % cases.Count];
            if (!tokenizer.Encode(c.Text).SequenceEqual(c.Ids) || tokenizer.Decode(c.Ids) != c.Decoded)
            {
                Interlocked.Increment(ref failures);
            }
        });
        failures.Should().Be(0);
    }

    [Fact]
    public void Splitting_special_tokens_encodes_them_as_text_like_the_reference()
    {
        var tokenizer = TokenizerFixtures.Real;
        var mismatches = TokenizerFixtures.Cases
            .Where(c => !tokenizer.Encode(c.Text, splitSpecialTokens: true).SequenceEqual(c.SplitIds))
            .Select(c => $"{Show(c.Text)}: expected [{string.Join(",", c.SplitIds)}] got [{string.Join(",", tokenizer.Encode(c.Text, splitSpecialTokens: true))}]")
            .ToList();
        mismatches.Should().BeEmpty();
    }

    [Fact]
    public void Decoding_the_reference_ids_gives_the_reference_text()
    {
        var tokenizer = TokenizerFixtures.Real;
        var mismatches = TokenizerFixtures.Cases
            .Where(c => tokenizer.Decode(c.Ids) != c.Decoded)
            .Select(c => $"{Show(c.Text)}: expected {Show(c.Decoded)} got {Show(tokenizer.Decode(c.Ids))}")
            .ToList();
        mismatches.Should().BeEmpty();
    }

    [Fact]
    public void Decode_of_encode_gives_back_the_text_up_to_NFC()
    {
        // The normalizer is NFC, so NFD input comes back composed (as in Hugging Face); NFC input comes back unchanged.
        var tokenizer = TokenizerFixtures.Real;
        int unchanged = 0;
        foreach (var c in TokenizerFixtures.Cases)
        {
            string roundTrip = tokenizer.Decode(tokenizer.Encode(c.Text).ToArray());
            // (string.IsNormalized throws on noncharacters such as U+FFFE, which the corpus holds, so compare by hand.)
            string nfc = UnicodeNfc.Normalize(c.Text);
            if (nfc == c.Text)
            {
                roundTrip.Should().Be(c.Text);
                unchanged++;
            }
            else
            {
                roundTrip.Should().Be(c.Decoded);
                UnicodeNfc.Normalize(roundTrip).Should().Be(nfc);
            }
        }

        unchanged.Should().BeGreaterThan(300);
    }

    private static string Show(string text)
    {
        var sb = new StringBuilder("\"");
        foreach (var rune in text.EnumerateRunes())
        {
            sb.Append(rune.Value is < 0x20 or (>= 0x7F and < 0xA0) or 0x85 or 0xFEFF or (>= 0x200B and <= 0x200F) or (>= 0x2028 and <= 0x202E) or (>= 0x300 and < 0x370)
                ? $"\\u{rune.Value:X4}"
                : rune.ToString());
            if (sb.Length > 120)
            {
                sb.Append("...");
                break;
            }
        }

        return sb.Append('"').ToString();
    }
}
