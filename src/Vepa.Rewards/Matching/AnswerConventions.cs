using System.Collections.Frozen;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Vepa.Rewards;

/// <summary>Writing conventions that must not decide a match: full-width forms, diacritics, British and American spellings, ordinals,
/// and hedges around one committed answer.</summary>
/// <remarks>Applied to the answer, the gold and every option alike before they are tokenised. Pure and thread-safe.</remarks>
internal static partial class AnswerConventions
{
    /// <summary>British spellings and their American forms (plurals follow through the inflection rules).</summary>
    private static readonly FrozenDictionary<string, string> Spellings = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["grey"] = "gray", ["greys"] = "grays", ["greyish"] = "grayish", ["aeroplane"] = "airplane", ["aeroplanes"] = "airplanes",
        ["doughnut"] = "donut", ["doughnuts"] = "donuts", ["tyre"] = "tire", ["tyres"] = "tires", ["aluminium"] = "aluminum",
        ["pyjamas"] = "pajamas", ["jewellery"] = "jewelry", ["moustache"] = "mustache", ["centre"] = "center", ["centres"] = "centers",
        ["theatre"] = "theater", ["theatres"] = "theaters", ["metre"] = "meter", ["metres"] = "meters", ["litre"] = "liter",
        ["litres"] = "liters", ["fibre"] = "fiber", ["kerb"] = "curb", ["kerbs"] = "curbs", ["cheque"] = "check", ["plough"] = "plow",
        ["storey"] = "story", ["storeys"] = "stories", ["axe"] = "ax", ["mum"] = "mom", ["mummy"] = "mommy", ["programme"] = "program",
        ["catalogue"] = "catalog", ["dialogue"] = "dialog", ["cosy"] = "cozy", ["sceptre"] = "scepter", ["sombre"] = "somber",
        ["lorry"] = "truck", ["lorries"] = "trucks", ["aubergine"] = "eggplant", ["courgette"] = "zucchini", ["nappy"] = "diaper",
        ["trainers"] = "sneakers", ["biscuit"] = "cookie", ["biscuits"] = "cookies", ["motorbike"] = "motorcycle", ["motorbikes"] = "motorcycles",
        ["sweets"] = "candy", ["pushchair"] = "stroller", ["pram"] = "stroller", ["bin"] = "trash", ["rubbish"] = "trash", ["draughts"] = "checkers",
        ["tap"] = "faucet", ["railway"] = "railroad", ["colour"] = "color", ["colours"] = "colors", ["coloured"] = "colored", ["colourful"] = "colorful",
    }.ToFrozenDictionary(StringComparer.Ordinal);

    private static readonly string[] OrdinalWords =
    [
        "zeroth", "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth", "eleventh", "twelfth",
        "thirteenth", "fourteenth", "fifteenth", "sixteenth", "seventeenth", "eighteenth", "nineteenth", "twentieth",
    ];

    private static readonly FrozenDictionary<string, int> Ordinals = BuildOrdinals();

    /// <summary>Rewrites <paramref name="text"/> in the conventions' common form.</summary>
    /// <param name="text">An answer, a gold answer or an option.</param>
    /// <returns>The text with full-width forms folded, diacritics removed, spellings and ordinals in one form.</returns>
    public static string Normalize(string text)
    {
        string folded = text.IsNormalized(NormalizationForm.FormKC) ? text : text.Normalize(NormalizationForm.FormKC);
        folded = RemoveDiacritics(folded);
        folded = WordRegex().Replace(folded, m =>
        {
            string lower = m.Value.ToLowerInvariant();
            if (Spellings.TryGetValue(lower, out string? american))
            {
                return american;
            }

            // -our → -or in longer words ("harbour", "favourite", "flavour", "neighbour").
            int our = lower.IndexOf("our", StringComparison.Ordinal);
            if (lower.Length >= 6 && our >= 3 && lower is not ("journey" or "courage" or "gourmet" or "tourist" or "sources" or "fourth" or "fourteen" or "fourteenth" or "detour" or "contour" or "amour" or "devour" or "devours" or "resources"))
            {
                return m.Value[..our] + "or" + m.Value[(our + 3)..];
            }

            return m.Value;
        });

        // Ordinals: "2nd" = "second" = "ord2"; a lone "second" after a number is the unit ("5 second").
        folded = NumericOrdinalRegex().Replace(folded, m => " " + OrdinalToken(int.Parse(m.Groups["n"].Value, CultureInfo.InvariantCulture)) + " ");
        return OrdinalWordRegex().Replace(folded, m =>
        {
            if (m.Groups["lead"].Success && m.Groups["lead"].Value.Length > 0)
            {
                return m.Value;
            }

            string word = m.Groups["w"].Value.ToLowerInvariant().Replace('-', ' ');
            return Ordinals.TryGetValue(word, out int n) ? m.Groups["pre"].Value + OrdinalToken(n) : m.Value;
        });
    }

    /// <summary>Removes hedge words around one committed answer ("Blue, most likely.", "Probably blue", "blue (probably)").</summary>
    /// <param name="text">The answer.</param>
    /// <returns>The answer without its hedges; empty when it was only a hedge.</returns>
    public static string RemoveHedges(string text) => HedgeRegex().Replace(text, " ");

    /// <summary>Tidies what removing hedges leaves: empty brackets and punctuation at either end ("B, " → "B", "blue ()" → "blue").</summary>
    /// <param name="text">The answer without its hedges.</param>
    /// <returns>The tidied answer.</returns>
    public static string TidyAfterHedges(string text)
        => EmptyBracketsRegex().Replace(text, " ").Trim().Trim(',', ';', ':', '-', '–', '—', '.', '!').Trim();

    /// <summary>Gets whether the text holds a hedge word.</summary>
    /// <param name="text">The normalised answer.</param>
    /// <returns><see langword="true"/> when it holds one.</returns>
    public static bool HasHedge(string text) => HedgeRegex().IsMatch(text);

    /// <summary>One word for an ordinal, with no digit in it (digits would make it a number): 21 → "ordinalcb".</summary>
    private static string OrdinalToken(int n) => "ordinal" + string.Concat(n.ToString(CultureInfo.InvariantCulture).Select(d => (char)('a' + (d - '0'))));

    private static string RemoveDiacritics(string text)
    {
        string decomposed = text.Normalize(NormalizationForm.FormD);
        var builder = new StringBuilder(decomposed.Length);
        foreach (char c in decomposed)
        {
            if (CharUnicodeInfo.GetUnicodeCategory(c) != UnicodeCategory.NonSpacingMark)
            {
                builder.Append(c);
            }
        }

        return builder.ToString().Normalize(NormalizationForm.FormC);
    }

    private static FrozenDictionary<string, int> BuildOrdinals()
    {
        var map = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 1; i < OrdinalWords.Length; i++)
        {
            map[OrdinalWords[i]] = i;
        }

        string[] tens = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"];
        string[] tensOrdinal = ["twentieth", "thirtieth", "fortieth", "fiftieth", "sixtieth", "seventieth", "eightieth", "ninetieth"];
        for (int t = 0; t < tens.Length; t++)
        {
            map[tensOrdinal[t]] = (t + 2) * 10;
            for (int u = 1; u <= 9; u++)
            {
                map[tens[t] + " " + OrdinalWords[u]] = ((t + 2) * 10) + u;
            }
        }

        return map.ToFrozenDictionary(StringComparer.Ordinal);
    }

    [GeneratedRegex(@"\p{L}+", RegexOptions.CultureInvariant)]
    private static partial Regex WordRegex();

    [GeneratedRegex(@"[(\[]\s*[,;:.]?\s*[)\]]", RegexOptions.CultureInvariant)]
    private static partial Regex EmptyBracketsRegex();

    [GeneratedRegex(@"(?<![\p{L}\p{N}.,])(?<n>\d{1,3})(?:st|nd|rd|th)\b", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase)]
    private static partial Regex NumericOrdinalRegex();

    [GeneratedRegex(@"(?<pre>^|[^\p{L}\p{N}])(?<lead>\d+\s+)?(?<w>(?:(?:twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)[- ])?(?:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|eleventh|twelfth|thirteenth|fourteenth|fifteenth|sixteenth|seventeenth|eighteenth|nineteenth|twentieth|thirtieth|fortieth|fiftieth|sixtieth|seventieth|eightieth|ninetieth))\b", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase)]
    private static partial Regex OrdinalWordRegex();

    /// <summary>Hedge words and phrases that qualify one answer without naming another.</summary>
    [GeneratedRegex(@"\b(?:(?:most|more|very|quite)\s+)?(?:likely|probably|possibly|perhaps|maybe|presumably|apparently|seemingly)\b|\bi\s+(?:think|believe|guess|suppose|would\s+say|'d\s+say)\b|\b(?:it\s+)?(?:might|could|may)\s+be\b|\bmy\s+(?:best\s+)?guess(?:\s+is)?\b|\b(?:probably|likely)\b|\b\d{1,3}\s*%\s*(?:sure|confident|certain|confidence|likely|probability|chance)\b|\b(?:with\s+)?(?:confidence|probability|certainty)\s*(?:of\s*)?[:=]?\s*\d{1,3}(?:\.\d+)?\s*%?", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase)]
    private static partial Regex HedgeRegex();
}
