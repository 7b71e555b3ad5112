using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;

namespace Vepa.Models;

/// <summary>
/// A Hugging Face <c>Split</c> pre-tokenizer (behavior <c>Isolated</c>): the pieces are the regex matches and the text between them.
/// </summary>
/// <remarks>
/// <para>Hugging Face runs the pattern (Oniguruma) over Unicode code points; .NET's <see cref="Regex"/> runs over UTF-16 units, so a
/// letter, digit or emoji outside the BMP would be two surrogates that match neither <c>\p{L}</c> nor <c>\p{N}</c>, and
/// <c>[^\r\n\p{L}\p{N}]?\p{L}+</c> would not take an emoji as the one-character prefix of a word. So the regex runs over a
/// stand-in string where each supplementary code point is one BMP character of the same Unicode general category (the pattern's
/// classes are category-based); the pieces are mapped back to offsets in the original text. Thread-safe.</para>
/// </remarks>
internal sealed class CodePointRegexPreTokenizer : PreTokenizer
{
    // One BMP representative per UnicodeCategory (index = (int)category), none of them ASCII, so case-insensitive literals in the
    // pattern ('s, 't, ...) cannot match a stand-in.
    private static readonly char[] Representatives =
    [
        '\u0391', // UppercaseLetter
        '\u03B1', // LowercaseLetter
        '\u01C5', // TitlecaseLetter
        '\u02B0', // ModifierLetter
        '\u05D0', // OtherLetter
        '\u0300', // NonSpacingMark
        '\u0903', // SpacingCombiningMark
        '\u20DD', // EnclosingMark
        '\u0660', // DecimalDigitNumber
        '\u2160', // LetterNumber
        '\u00B2', // OtherNumber
        '\u3000', // SpaceSeparator (none outside the BMP)
        '\u2028', // LineSeparator
        '\u2029', // ParagraphSeparator
        '\u0085', // Control
        '\u00AD', // Format (e.g. the tag characters of flag emoji)
        '\uFFFD', // Surrogate (never: pairs are mapped as a whole)
        '\uE000', // PrivateUse
        '\u203F', // ConnectorPunctuation
        '\u2010', // DashPunctuation
        '\u2045', // OpenPunctuation
        '\u2046', // ClosePunctuation
        '\u00AB', // InitialQuotePunctuation
        '\u00BB', // FinalQuotePunctuation
        '\u00A1', // OtherPunctuation
        '\u00AC', // MathSymbol
        '\u00A2', // CurrencySymbol
        '\u00B4', // ModifierSymbol
        '\u00A6', // OtherSymbol
        '\u0378', // OtherNotAssigned
    ];

    private readonly Regex _regex;

    public CodePointRegexPreTokenizer(Regex regex) => _regex = regex;

    /// <summary>Gets the pattern.</summary>
    public string Pattern => _regex.ToString();

    public override IEnumerable<(int Offset, int Length)> PreTokenize(string text) => Split(text ?? string.Empty);

    public override IEnumerable<(int Offset, int Length)> PreTokenize(ReadOnlySpan<char> text) => Split(text.ToString());

    /// <summary>Splits text into (offset, length) pieces covering it entirely, in order.</summary>
    public List<(int Offset, int Length)> Split(string text)
    {
        var pieces = new List<(int Offset, int Length)>();
        if (text.Length == 0)
        {
            return pieces;
        }

        // map[j] = offset in text of stand-in char j; map[^1] = text.Length.
        string mapped = text;
        int[]? map = null;
        for (int i = 0; i < text.Length; i++)
        {
            if (char.IsSurrogate(text[i]))
            {
                (mapped, map) = MapSupplementary(text);
                break;
            }
        }

        int previous = 0;
        for (var match = _regex.Match(mapped); match.Success; match = match.NextMatch())
        {
            if (match.Length == 0)
            {
                continue;
            }

            Add(pieces, map, previous, match.Index);
            Add(pieces, map, match.Index, match.Index + match.Length);
            previous = match.Index + match.Length;
        }

        Add(pieces, map, previous, mapped.Length);
        return pieces;
    }

    private static void Add(List<(int Offset, int Length)> pieces, int[]? map, int start, int end)
    {
        if (end <= start)
        {
            return;
        }

        int s = map is null ? start : map[start];
        int e = map is null ? end : map[end];
        pieces.Add((s, e - s));
    }

    private static (string Mapped, int[] Map) MapSupplementary(string text)
    {
        var chars = new char[text.Length];
        var map = new int[text.Length + 1];
        int j = 0;
        for (int i = 0; i < text.Length; i++)
        {
            map[j] = i;
            char c = text[i];
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                int codePoint = char.ConvertToUtf32(c, text[i + 1]);
                chars[j++] = Representatives[(int)CharUnicodeInfo.GetUnicodeCategory(codePoint)];
                i++;
            }
            else if (char.IsSurrogate(c))
            {
                throw new ArgumentException($"The text holds an unpaired UTF-16 surrogate (U+{(int)c:X4}) at index {i}; it is not valid Unicode and has no UTF-8 bytes.", nameof(text));
            }
            else
            {
                chars[j++] = c;
            }
        }

        map[j] = text.Length;
        Array.Resize(ref map, j + 1);
        return (new string(chars, 0, j), map);
    }
}
