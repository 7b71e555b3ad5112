using System.Text.RegularExpressions;

namespace Vepa.Rewards;

/// <summary>Finds an explicit option label ("B", "(B)", "B.", "Option B", "The answer is (B)", "**B**") in a reader's answer.</summary>
/// <remarks>
/// <para>Patterns are tried in tiers; the first tier with a label in range decides. Two different labels in that tier make the answer ambiguous.</para>
/// <list type="number">
/// <item>The whole answer is a label: <c>B</c>, <c>b</c>, <c>(B)</c>, <c>[B]</c>, <c>B.</c>, <c>B)</c>, <c>B:</c> (markdown and quotes removed first).</item>
/// <item>The answer starts with a delimited label: <c>B. red</c>, <c>(B) red</c>, <c>B) red</c>, <c>B: red</c>.</item>
/// <item>A keyword names it: <c>answer</c>, <c>option</c> or <c>choice</c>, optionally followed by "is"/"would be"/":", then the label.
/// After "answer", a lower-case "a" or "i" counts only when the text ends or punctuation follows ("the answer is a cube" is not option A);
/// after "option" or "choice" any letter counts ("option a is right").</item>
/// <item>Anywhere: a bracketed <c>(B)</c>/<c>[B]</c> not preceded by a letter, or a bold <c>**B**</c>, unless "not" comes right before it.</item>
/// </list>
/// <para>A letter inside a word never counts ("Bag" is not option B), and a bare article "a" followed by a word is not option A.</para>
/// </remarks>
internal static partial class OptionLabelReader
{
    /// <summary>Reads the option label of <paramref name="text"/>.</summary>
    /// <param name="text">The answer.</param>
    /// <param name="optionCount">The number of options; labels beyond it are ignored.</param>
    /// <param name="ambiguous">Set when the deciding tier names two different options.</param>
    /// <returns>The zero-based option index, or −1 when there is no label (or it is ambiguous).</returns>
    public static int Read(string text, int optionCount, out bool ambiguous)
    {
        ambiguous = false;
        string plain = StripMarkdown(text);
        var found = new SortedSet<int>();

        // Tier 1: the whole answer is a label.
        Match whole = WholeLabelRegex().Match(plain);
        if (whole.Success)
        {
            AddIfInRange(found, whole.Groups["l"].Value[0], optionCount);
        }

        if (Decide(found, ref ambiguous, out int index))
        {
            return index;
        }

        // Tier 2: a delimited label at the start.
        Match leading = LeadingLabelRegex().Match(plain);
        if (leading.Success)
        {
            AddIfInRange(found, leading.Groups["l"].Value[0], optionCount);
        }

        if (Decide(found, ref ambiguous, out index))
        {
            return index;
        }

        // Tier 3: after a keyword, or after a phrase that introduces a choice ("I think it's B", "I'd say (C)").
        foreach (Match match in PhraseLabelRegex().Matches(plain))
        {
            Group label = match.Groups["b"].Success ? match.Groups["b"] : match.Groups["l"];
            AddIfInRange(found, label.Value[0], optionCount);
        }

        foreach (Match match in KeywordLabelRegex().Matches(plain))
        {
            Group bracketed = match.Groups["b"];
            if (bracketed.Success)
            {
                AddIfInRange(found, bracketed.Value[0], optionCount);
                continue;
            }

            Group bare = match.Groups["l"];
            char letter = bare.Value[0];
            bool afterAnswerWord = match.Groups["kw"].Value.Equals("answer", StringComparison.OrdinalIgnoreCase);
            if (afterAnswerWord && (letter is 'a' or 'i'))
            {
                ReadOnlySpan<char> rest = plain.AsSpan(bare.Index + 1).TrimStart();
                if (!(rest.IsEmpty || rest[0] is '.' or ')' or ',' or ';' or ':' or '!' or '?'))
                {
                    continue; // "the answer is a cube"
                }
            }

            AddIfInRange(found, letter, optionCount);
        }

        if (Decide(found, ref ambiguous, out index))
        {
            return index;
        }

        // Tier 4: a bracketed or bold label anywhere, unless negated.
        foreach (Match match in BracketedLabelRegex().Matches(plain))
        {
            if (!IsNegatedBefore(plain.AsSpan(0, match.Index)))
            {
                AddIfInRange(found, match.Groups["l"].Value[0], optionCount);
            }
        }

        foreach (Match match in BoldLabelRegex().Matches(text))
        {
            if (!IsNegatedBefore(text.AsSpan(0, match.Index)))
            {
                AddIfInRange(found, match.Groups["l"].Value[0], optionCount);
            }
        }

        Decide(found, ref ambiguous, out index);
        return index;
    }

    /// <summary>Reads the label an answer commits to after restating the options ("A. red B. blue C. green. Answer: B", "… → B",
    /// "… I choose B."): <see langword="null"/> when the answer does not restate at least two labels before a final choice of one label.</summary>
    /// <param name="text">The answer.</param>
    /// <param name="optionCount">The number of options.</param>
    /// <returns>The chosen label as text ("B"), or <see langword="null"/>.</returns>
    public static string? FinalChoice(string text, int optionCount)
    {
        string plain = StripMarkdown(text).TrimEnd();
        Match final = FinalChoiceRegex().Match(plain);
        if (!final.Success)
        {
            return null;
        }

        char label = char.ToUpperInvariant(final.Groups["l"].Value[0]);
        string restated = plain[..final.Index];
        int lone = LoneCapitalRegex().Matches(restated).Select(m => m.Value[0] - 'A').Where(i => i < optionCount).Distinct().Count();
        if (label - 'A' >= optionCount || Math.Max(CountListedLabels(restated, optionCount), lone) < 2)
        {
            return null;
        }

        return label.ToString();
    }

    /// <summary>Gets whether the answer names an option label other than <paramref name="label"/> as a word of its own after the first label
    /// ("C, because B is too dark"); a capital "A" or "I" that starts a phrase ("A car …") is read as a word.</summary>
    /// <param name="text">The answer.</param>
    /// <param name="label">The index of the label the answer chose.</param>
    /// <param name="optionCount">The number of options.</param>
    /// <returns><see langword="true"/> when another label is named.</returns>
    public static bool MentionsOtherLabel(string text, int label, int optionCount)
    {
        string plain = StripMarkdown(text);
        int chosen = -1;
        foreach (Match match in LoneCapitalRegex().Matches(plain))
        {
            int index = match.Value[0] - 'A';
            if (index >= optionCount)
            {
                continue;
            }

            if (chosen < 0 && index == label)
            {
                chosen = match.Index;
                continue;
            }

            if (index != label && chosen >= 0 && !IsNegatedBefore(plain.AsSpan(0, match.Index)))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Counts the distinct option labels the answer lists: delimited labels anywhere ("A. red B. blue", "(A) … (B) …") and bare
    /// capital letters joined by a separator or a conjunction ("A or B", "A, B", "A/B", "A and B").</summary>
    /// <param name="text">The answer.</param>
    /// <param name="optionCount">The number of options; labels beyond it are ignored.</param>
    /// <returns>The number of distinct labels in range.</returns>
    public static int CountListedLabels(string text, int optionCount)
    {
        string plain = StripMarkdown(text);
        var found = new SortedSet<int>();
        foreach (Match match in DelimitedLabelAnywhereRegex().Matches(plain))
        {
            AddIfInRange(found, match.Groups["l"].Value[0], optionCount);
        }

        foreach (Match match in CoordinatedLabelsRegex().Matches(plain))
        {
            AddIfInRange(found, match.Groups["a"].Value[0], optionCount);
            AddIfInRange(found, match.Groups["b"].Value[0], optionCount);
        }

        return found.Count;
    }

    private static bool Decide(SortedSet<int> found, ref bool ambiguous, out int index)
    {
        index = -1;
        if (found.Count == 0)
        {
            return false;
        }

        if (found.Count == 1)
        {
            index = found.Min;
        }
        else
        {
            ambiguous = true;
        }

        return true;
    }

    private static void AddIfInRange(SortedSet<int> found, char letter, int optionCount)
    {
        int index = char.ToUpperInvariant(letter) - 'A';
        if (index >= 0 && index < optionCount)
        {
            found.Add(index);
        }
    }

    private static bool IsNegatedBefore(ReadOnlySpan<char> before)
    {
        ReadOnlySpan<char> trimmed = before.TrimEnd();
        return trimmed.EndsWith("not", StringComparison.OrdinalIgnoreCase) || trimmed.EndsWith("n't", StringComparison.OrdinalIgnoreCase)
            || trimmed.EndsWith("n\u2019t", StringComparison.OrdinalIgnoreCase);
    }

    private static string StripMarkdown(string text)
    {
        string stripped = MarkdownRegex().Replace(text, string.Empty);
        return stripped.Trim().Trim('"', '\'', '\u201C', '\u201D', '\u2018', '\u2019').Trim();
    }

    [GeneratedRegex(@"[*_`#]+", RegexOptions.CultureInvariant)]
    private static partial Regex MarkdownRegex();

    [GeneratedRegex(@"^(?:[(\[]\s*(?<l>[A-Za-z])\s*[)\]]|(?<l>[A-Za-z]))\s*[.:)]?$", RegexOptions.CultureInvariant)]
    private static partial Regex WholeLabelRegex();

    [GeneratedRegex(@"^(?:[(\[](?<l>[A-Za-z])[)\]]|(?<l>[A-Za-z])[.):])(?=\s)", RegexOptions.CultureInvariant)]
    private static partial Regex LeadingLabelRegex();

    [GeneratedRegex(@"\b(?<kw>answer|option|choice)\b(?:\s+(?:is|would\s+be|should\s+be|will\s+be))?\s*[:=]?\s*(?:[(\[](?<b>[A-Za-z])[)\]]|(?<l>[A-Za-z])(?![\p{L}\p{N}'\u2019]))", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase)]
    private static partial Regex KeywordLabelRegex();

    [GeneratedRegex(@"(?<![\p{L}\p{N}])[(\[](?<l>[A-Za-z])[)\]]", RegexOptions.CultureInvariant)]
    private static partial Regex BracketedLabelRegex();

    /// <summary>A phrase that introduces a choice, then a bare capital letter or a bracketed letter that ends the answer.</summary>
    [GeneratedRegex(@"(?i:\b(?:it'?s|it\s+is|it\s+would\s+be|it'?d\s+be|i'?d\s+say|i\s+would\s+say|i\s+(?:choose|pick|select)|i'?ll\s+go\s+with|i\s+go\s+with|go\s+with|letter))\s+(?:[(\[](?<b>[A-Za-z])[)\]]|(?<l>[A-Z]))(?=\s*[.!,;)]?\s*$)", RegexOptions.CultureInvariant)]
    private static partial Regex PhraseLabelRegex();

    /// <summary>A delimited capital label anywhere: "A." "B)" "C:" "(D)" "[E]" followed by a space or the end.</summary>
    [GeneratedRegex(@"(?<![\p{L}\p{N}])(?:[(\[](?<l>[A-Z])[)\]]|(?<l>[A-Z])[.):])(?=\s|$)", RegexOptions.CultureInvariant)]
    private static partial Regex DelimitedLabelAnywhereRegex();

    /// <summary>Two bare capital letters joined by a separator or a conjunction.</summary>
    [GeneratedRegex(@"(?<![\p{L}\p{N}])(?<a>[A-Z])\s*(?:,|/|&|\+|\bor\b|\band\b|\band/or\b)\s*(?:(?:either|or|and)\s+)?(?<b>[A-Z])(?![\p{L}\p{N}])", RegexOptions.CultureInvariant)]
    private static partial Regex CoordinatedLabelsRegex();

    [GeneratedRegex(@"\*\*\s*[(\[]?(?<l>[A-Za-z])[)\]]?\s*[.:)]?\s*\*\*", RegexOptions.CultureInvariant)]
    private static partial Regex BoldLabelRegex();

    /// <summary>A final choice of one label at the end of an answer.</summary>
    [GeneratedRegex(@"(?:\b(?:answer|choice|option|final)\b(?:\s+(?:is|would\s+be))?\s*[:=\-–—]?|\b(?:i\s+)?(?:choose|chose|pick|select|go\s+with)|\b(?:so|therefore|thus|hence)\b,?|→|->|=>|⇒)\s*(?:[(\[]\s*(?<l>[A-Za-z])\s*[)\]]|(?<l>[A-Z]))\s*[.!]?$", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase)]
    private static partial Regex FinalChoiceRegex();

    /// <summary>A capital letter standing alone as a word (not "A" or "I" before a lower-case word).</summary>
    [GeneratedRegex(@"(?<![\p{L}\p{N}'])(?:[B-HJ-Z]|[AI](?!\s+[a-z]))(?![\p{L}\p{N}'])", RegexOptions.CultureInvariant)]
    private static partial Regex LoneCapitalRegex();
}
