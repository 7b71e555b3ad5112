using System.Collections.Frozen;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Vepa.Rewards;

/// <summary>Folds text and splits it into sentences of content units for <see cref="RepetitionPenalty.Measure"/>.</summary>
internal static partial class RepetitionText
{
    private static readonly FrozenSet<string> FunctionWords = new[]
    {
        "a", "an", "the", "is", "are", "was", "were", "be", "been", "being", "am", "has", "have", "had", "there", "here", "it", "its",
        "this", "that", "these", "those", "which", "who", "whose", "what", "of", "in", "on", "at", "to", "into", "onto", "from", "by",
        "with", "for", "as", "and", "or", "but", "also", "too", "again", "once", "more", "another", "other", "each", "some", "any",
        "very", "quite", "just", "then", "so", "first", "second", "third", "fourth", "fifth", "next", "finally", "additionally",
        "moreover", "furthermore", "besides", "repeat", "repeating", "i", "we", "you", "he", "she", "they", "them", "their", "his",
        "her", "our", "my", "your", "can", "see", "seen", "visible", "shown", "image", "picture", "photo",

        // Words a paraphrase loop varies without adding content ("the car is blue", "the vehicle has a blue colour", "it appears blue").
        "colour", "color", "colours", "colors", "coloured", "colored", "hue", "shade", "tint", "tone", "painted", "appears", "appear",
        "looks", "look", "seems", "seem", "shows", "show", "depicts", "depict", "displays", "display", "features", "contains", "made",
        "clearly", "definitely", "indeed", "actually", "really", "certainly", "obviously", "exactly", "precisely", "truly", "basically",
        "described", "description", "says", "say", "said", "states", "state", "stated", "note", "noted", "notice", "indicates", "words",
        "word", "other", "in", "its", "scene", "photograph", "shot", "frame", "view",
    }.ToFrozenSet(StringComparer.Ordinal);

    /// <summary>Words a paraphrase loop swaps for each other, folded to one spelling.</summary>
    private static readonly FrozenDictionary<string, string> Synonyms = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["vehicle"] = "car", ["automobile"] = "car", ["auto"] = "car", ["motorcar"] = "car", ["cars"] = "car", ["vehicles"] = "car",
        ["big"] = "large", ["huge"] = "large", ["giant"] = "large", ["enormous"] = "large", ["little"] = "small", ["tiny"] = "small",
        ["item"] = "object", ["thing"] = "object", ["items"] = "object", ["things"] = "object", ["objects"] = "object",
        ["grey"] = "gray", ["situated"] = "located", ["positioned"] = "located", ["placed"] = "located", ["sits"] = "located",
        ["lies"] = "located", ["stands"] = "located", ["rests"] = "located",
    }.ToFrozenDictionary(StringComparer.Ordinal);

    private static readonly FrozenDictionary<char, char> LookAlikes = new Dictionary<char, char>
    {
        ['а'] = 'a', ['в'] = 'b', ['е'] = 'e', ['ё'] = 'e', ['к'] = 'k', ['м'] = 'm', ['н'] = 'h', ['о'] = 'o', ['р'] = 'p', ['с'] = 'c',
        ['т'] = 't', ['у'] = 'y', ['х'] = 'x', ['ѕ'] = 's', ['і'] = 'i', ['ї'] = 'i', ['ј'] = 'j', ['ԁ'] = 'd', ['һ'] = 'h', ['ӏ'] = 'l',
        ['ԛ'] = 'q', ['ԝ'] = 'w', ['ɡ'] = 'g', ['ɑ'] = 'a', ['ı'] = 'i',
        ['α'] = 'a', ['β'] = 'b', ['ε'] = 'e', ['ζ'] = 'z', ['η'] = 'n', ['ι'] = 'i', ['κ'] = 'k', ['ν'] = 'v', ['ο'] = 'o', ['ρ'] = 'p',
        ['τ'] = 't', ['υ'] = 'u', ['χ'] = 'x', ['ω'] = 'w', ['ϲ'] = 'c', ['ϳ'] = 'j',
    }.ToFrozenDictionary();

    /// <summary>Folds <paramref name="text"/>: invisible characters removed, NFKC, no diacritics, lower case, look-alikes mapped to Latin.</summary>
    public static string Fold(string text)
    {
        string folded = EvidenceNeutralizer.RemoveInvisible(text);
        folded = folded.Normalize(NormalizationForm.FormKC).Normalize(NormalizationForm.FormD);
        var builder = new StringBuilder(folded.Length);
        foreach (char c in folded)
        {
            if (CharUnicodeInfo.GetUnicodeCategory(c) is UnicodeCategory.NonSpacingMark or UnicodeCategory.EnclosingMark)
            {
                continue;
            }

            char lower = char.ToLowerInvariant(c);
            builder.Append(LookAlikes.TryGetValue(lower, out char latin) ? latin : lower);
        }

        return builder.ToString().Normalize(NormalizationForm.FormC);
    }

    /// <summary>Splits folded text into sentences of content units.</summary>
    public static List<List<string>> ContentSentences(string text)
    {
        // As the reader understands the text: invisible characters out, every encoding decoded, NFKC, until stable (a zero-width
        // character inside an entity or a full-width entity must not hide a repeat), then folded.
        string folded = Fold(EvidenceNeutralizer.Normalize(text));
        var sentences = new List<List<string>>();
        foreach (string sentence in SentenceBreakRegex().Split(folded))
        {
            string body = ListMarkerRegex().Replace(sentence, string.Empty);
            var units = new List<string>();
            foreach (string unit in Units(body))
            {
                if (!FunctionWords.Contains(unit))
                {
                    units.Add(Synonyms.TryGetValue(unit, out string? canonical) ? canonical : unit);
                }
            }

            // A lone list number or letter ("1.", "b)") is a marker, not a sentence.
            if (units.Count == 1 && units[0].Length <= 3 && (units[0].All(char.IsAsciiDigit) || (units[0].Length == 1 && char.IsAsciiLetter(units[0][0]))))
            {
                continue;
            }

            if (units.Count > 0)
            {
                sentences.Add(units);
            }
        }

        return sentences;
    }

    /// <summary>Counts the units of <paramref name="text"/> (function words included).</summary>
    public static int CountUnits(string text) => Units(Fold(EvidenceNeutralizer.Normalize(text))).Count();

    private static IEnumerable<string> Units(string text)
    {
        foreach (Match run in WordRegex().Matches(text))
        {
            string word = run.Value;
            int start = 0;
            for (int i = 0; i < word.Length; i++)
            {
                if (IsUnsegmented(word[i]))
                {
                    if (i > start)
                    {
                        yield return word[start..i];
                    }

                    yield return word[i].ToString();
                    start = i + 1;
                }
            }

            if (start < word.Length)
            {
                yield return word[start..];
            }
        }
    }

    private static bool IsUnsegmented(char c) => c is (>= '\u4E00' and <= '\u9FFF') or (>= '\u3400' and <= '\u4DBF') or (>= '\u3040' and <= '\u30FF')
        or (>= '\u0E00' and <= '\u0EFF') or (>= '\u1780' and <= '\u17FF') or (>= '\u1000' and <= '\u109F') or (>= '\u0F00' and <= '\u0FFF')
        or (>= '\uF900' and <= '\uFAFF');

    [GeneratedRegex(@"[\p{L}\p{N}]+", RegexOptions.CultureInvariant)]
    private static partial Regex WordRegex();

    /// <summary>A sentence end: . ! ? ; (not a dot inside a number), the CJK full stops, or a line break.</summary>
    [GeneratedRegex(@"(?<!\d)[.!?;](?!\d)|[.!?;](?=\s)|[。！？；]|\n", RegexOptions.CultureInvariant)]
    private static partial Regex SentenceBreakRegex();

    /// <summary>A list number, bullet or ordinal word at the start of a sentence.</summary>
    [GeneratedRegex(@"^\s*(?:\(?\d{1,3}[.):]?(?=\s)|[-*•·]+(?=\s)|\(?[a-z][.)](?=\s))", RegexOptions.CultureInvariant)]
    private static partial Regex ListMarkerRegex();
}
