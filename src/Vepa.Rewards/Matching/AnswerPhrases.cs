using System.Text.RegularExpressions;

namespace Vepa.Rewards;

/// <summary>Phrases that decide an answer before word matching: non-answers and hedges, idiomatic yes and no.</summary>
/// <remarks>All patterns run on lower-case text whose "n't" was expanded to " not" and "cannot" to "can not".</remarks>
internal static partial class AnswerPhrases
{
    /// <summary>Lower-cases <paramref name="text"/> and expands negated contractions, so the patterns see one spelling.</summary>
    public static string Normalize(string text)
    {
        string lower = text.Replace('\u2019', '\'').Replace('\u2018', '\'').ToLowerInvariant();
        lower = ContractionRegex().Replace(lower, m => m.Groups["stem"].Value switch
        {
            "won" => "will not",
            "can" or "ca" => "can not",
            "shan" => "shall not",
            var stem => stem + " not",
        });
        return lower.Replace("cannot", "can not", StringComparison.Ordinal);
    }

    /// <summary>Gets whether the answer declines to answer or hedges: "no idea", "can't tell", "not sure", "maybe", "yes and no", "none of the above".</summary>
    public static bool IsNonAnswer(string normalized) => NonAnswerRegex().IsMatch(normalized);

    /// <summary>Gets the polarity of idiomatic phrases: <see langword="false"/> for "I don't think so", "not at all"; <see langword="true"/> for
    /// "of course", "I think so"; <see langword="null"/> when there is none. Negative phrases are checked first.</summary>
    public static bool? IdiomPolarity(string normalized)
    {
        if (IdiomNoRegex().IsMatch(normalized))
        {
            return false;
        }

        return IdiomYesRegex().IsMatch(normalized) ? true : null;
    }

    /// <summary>Gets whether the answer affirms existence without a yes word: "there is one", "there are two".</summary>
    public static bool IsExistential(string normalized) => ExistentialRegex().IsMatch(normalized) && !NegationWordRegex().IsMatch(normalized);

    /// <summary>Gets whether the answer holds a negation word.</summary>
    public static bool HasNegation(string normalized) => NegationWordRegex().IsMatch(normalized);

    [GeneratedRegex(@"\b(?<stem>[a-z]+)n't\b", RegexOptions.CultureInvariant)]
    private static partial Regex ContractionRegex();

    [GeneratedRegex(
        @"\b(?:no\s+idea|no\s+clue|not\s+sure|unsure|uncertain|unclear|not\s+clear|unknown|unknowable|dunno|do\s+not\s+know|don'?t\s+know|can\s+not\s+(?:tell|say|determine|know|see|be\s+(?:determined|known|told|sure))|could\s+not\s+(?:tell|say|determine)|hard\s+to\s+(?:say|tell)|impossible\s+to\s+(?:say|tell|know|determine)|(?:not|no)\s+(?:enough|sufficient)\s+(?:information|info|detail|details|evidence)|insufficient\s+(?:information|info|evidence|detail)|no\s+information|not\s+(?:mentioned|specified|stated|given)|(?:description|text|evidence|it)\s+(?:does|did)\s+not\s+(?:say|mention|specify|state|tell)|no\s+mention|unable\s+to\s+(?:tell|say|determine|answer)|it\s+depends|depends\s+on|unlikely|idk|not\s+certain|no\s+way\s+(?:to|of)\s+(?:know|tell|say|determine|be\s+sure|knowing|telling|saying)|(?:there\s+is\s+|there\s+'?s\s+)?no\s+telling|can\s+not\s+be\s+(?:sure|certain)|not\s+possible\s+to\s+(?:know|tell|say|determine)|yes\s*(?:and|or|/)\s*no|no\s*(?:and|or|/)\s*yes|none\s+of\s+(?:the\s+)?(?:above|them|these|those|the\s+options)|all\s+of\s+(?:the\s+)?(?:above|them|these|those|the\s+options)|n/a|unanswerable)\b",
        RegexOptions.CultureInvariant)]
    private static partial Regex NonAnswerRegex();

    [GeneratedRegex(
        @"\b(?:not\s+think\s+so|not\s+believe\s+so|not\s+at\s+all|not\s+really|not\s+quite|(?:of\s+course|absolutely|definitely|certainly|surely)\s+not|no\s+way|by\s+no\s+means|not\s+in\s+the\s+least)\b",
        RegexOptions.CultureInvariant)]
    private static partial Regex IdiomNoRegex();

    [GeneratedRegex(@"\b(?:think\s+so|believe\s+so|of\s+course|absolutely|definitely|certainly|surely|sure|indeed|no\s+doubt|that\s+is\s+right|right\s+so)\b", RegexOptions.CultureInvariant)]
    private static partial Regex IdiomYesRegex();

    [GeneratedRegex(@"^\s*there\s+(?:is|are|was|were)\s+\S", RegexOptions.CultureInvariant)]
    private static partial Regex ExistentialRegex();

    [GeneratedRegex(@"\b(?:not|no|never|none|nobody|nothing|neither|nor)\b", RegexOptions.CultureInvariant)]
    private static partial Regex NegationWordRegex();
}
