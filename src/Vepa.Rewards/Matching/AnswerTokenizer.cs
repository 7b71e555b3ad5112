using System.Collections.Frozen;
using System.Globalization;
using System.Text.RegularExpressions;

namespace Vepa.Rewards;

/// <summary>Splits an answer into normalized tokens: lower-case words without punctuation, numbers with their values, clause indices.</summary>
/// <remarks>Stateless apart from immutable settings; safe to use from several threads.</remarks>
internal sealed partial class AnswerTokenizer
{
    private static readonly FrozenDictionary<string, int> Units = new Dictionary<string, int>(StringComparer.Ordinal)
    {
        ["zero"] = 0, ["one"] = 1, ["two"] = 2, ["three"] = 3, ["four"] = 4, ["five"] = 5, ["six"] = 6, ["seven"] = 7,
        ["eight"] = 8, ["nine"] = 9, ["ten"] = 10, ["eleven"] = 11, ["twelve"] = 12, ["thirteen"] = 13, ["fourteen"] = 14,
        ["fifteen"] = 15, ["sixteen"] = 16, ["seventeen"] = 17, ["eighteen"] = 18, ["nineteen"] = 19,
    }.ToFrozenDictionary(StringComparer.Ordinal);

    private static readonly FrozenDictionary<string, int> Tens = new Dictionary<string, int>(StringComparer.Ordinal)
    {
        ["twenty"] = 20, ["thirty"] = 30, ["forty"] = 40, ["fifty"] = 50, ["sixty"] = 60, ["seventy"] = 70, ["eighty"] = 80, ["ninety"] = 90,
    }.ToFrozenDictionary(StringComparer.Ordinal);

    /// <summary>Unit words after a number, mapped to one spelling ("5 centimeters" = "5 cm").</summary>
    private static readonly FrozenDictionary<string, string> UnitSynonyms = BuildUnitSynonyms();

    /// <summary>Abbreviations whose dot does not end a clause ("St. Louis").</summary>
    private static readonly FrozenSet<string> Abbreviations = new[] { "st", "dr", "mr", "mrs", "ms", "mt", "jr", "sr", "prof", "ave", "rd" }.ToFrozenSet(StringComparer.Ordinal);

    private readonly FrozenSet<string> _stopWords;
    private readonly bool _numberWords;

    public AnswerTokenizer(FrozenSet<string> stopWords, bool numberWords)
    {
        _stopWords = stopWords;
        _numberWords = numberWords;
    }

    private enum Part
    {
        None,
        Unit,
        Tens,
        Hundred,
        Thousand,
    }

    /// <summary>Tokenizes <paramref name="text"/>.</summary>
    /// <param name="text">The text.</param>
    /// <returns>Every token, and the tokens without stop words.</returns>
    public AnswerTokens Tokenize(string text)
    {
        string lower = Prepare(text.Replace('\u2019', '\'').Replace('\u2018', '\'').Replace('\u2212', '-').ToLowerInvariant());
        var raw = new List<AnswerToken>();
        int clause = 0;
        int previousEnd = 0;
        char pendingSeparator = '\0';
        foreach (Match match in TokenRegex().Matches(lower))
        {
            ReadOnlySpan<char> gap = lower.AsSpan(previousEnd, match.Index - previousEnd);
            bool afterAbbreviation = raw.Count > 0 && gap.Trim().SequenceEqual(".") && Abbreviations.Contains(raw[^1].Text);
            if (raw.Count > 0 && HasClauseBreak(gap) && !afterAbbreviation)
            {
                clause++;
            }

            int separatorAt = gap.IndexOfAny(",;/&+|-–—~");
            if (separatorAt >= 0 && pendingSeparator == '\0')
            {
                pendingSeparator = gap[separatorAt];
            }

            previousEnd = match.Index + match.Length;
            if (match.Groups["num"].Success)
            {
                raw.Add(ParseNumber(match.Value, clause) with { Separator = pendingSeparator });
                pendingSeparator = '\0';
                continue;
            }

            if (match.Value[0] is >= '0' and <= '9' && long.TryParse(match.Value, NumberStyles.None, CultureInfo.InvariantCulture, out long digitsOnly))
            {
                // Digits glued to a dot or a sign-like character ("v2.0" → "0"): still a number.
                raw.Add(NumberToken(digitsOnly, false, clause) with { Separator = pendingSeparator });
                pendingSeparator = '\0';
                continue;
            }

            string? word = NormalizeWord(match.Value);
            if (word is null)
            {
                continue;
            }

            if (word == "but")
            {
                clause++;
                continue;
            }

            raw.Add(new AnswerToken(word, null, false, clause, pendingSeparator));
            pendingSeparator = '\0';
        }

        List<AnswerToken> all = MergeNumbers(raw);
        var content = new List<AnswerToken>(all.Count);
        char carried = '\0';
        for (int i = 0; i < all.Count; i++)
        {
            AnswerToken token = all[i] with { Position = i };
            all[i] = token;
            if (token.IsNumber || !_stopWords.Contains(token.Text))
            {
                content.Add(carried != '\0' && token.Separator == '\0' ? token with { Separator = carried } : token);
                carried = '\0';
            }
            else if (token.Separator != '\0')
            {
                carried = token.Separator;
            }
        }

        return new AnswerTokens(all, content);
    }

    private static bool HasClauseBreak(ReadOnlySpan<char> between) => between.IndexOfAny(",;:.!?\n") >= 0;

    /// <summary>Rewrites what the token pattern cannot see: currency signs, degree signs, range dashes between numbers, "and/or".</summary>
    private static string Prepare(string text)
    {
        text = CurrencyRegex().Replace(text, m => m.Groups["amount"].Value + " " + (m.Groups["sign"].Value switch { "€" => "eur", "£" => "gbp", _ => "usd" }));
        text = DegreeRegex().Replace(text, m => m.Groups["unit"].Value switch { "c" => " deg celsius", "f" => " deg fahrenheit", _ => " deg" });
        text = RangeDashRegex().Replace(text, " to ");
        text = ConjunctionPhraseRegex().Replace(text, " and ");
        return text.Replace("and/or", " or ", StringComparison.Ordinal);
    }

    private static FrozenDictionary<string, string> BuildUnitSynonyms()
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        void Add(string canonical, params string[] forms)
        {
            map[canonical] = canonical;
            foreach (string form in forms)
            {
                map[form] = canonical;
            }
        }

        Add("mm", "millimeter", "millimeters", "millimetre", "millimetres");
        Add("cm", "centimeter", "centimeters", "centimetre", "centimetres", "cms");
        Add("m", "meter", "meters", "metre", "metres");
        Add("km", "kilometer", "kilometers", "kilometre", "kilometres", "kms");
        Add("inch", "inches", "ins");
        Add("ft", "foot", "feet");
        Add("yd", "yard", "yards", "yds");
        Add("mi", "mile", "miles");
        Add("mg", "milligram", "milligrams");
        Add("g", "gram", "grams", "gr", "gms");
        Add("kg", "kilogram", "kilograms", "kilo", "kilos", "kgs");
        Add("lb", "pound", "pounds", "lbs");
        Add("oz", "ounce", "ounces");
        Add("ml", "milliliter", "milliliters", "millilitre", "millilitres");
        Add("l", "liter", "liters", "litre", "litres");
        Add("s", "second", "seconds", "sec", "secs");
        Add("min", "minute", "minutes", "mins");
        Add("h", "hour", "hours", "hr", "hrs");
        Add("deg", "degree", "degrees");
        Add("usd", "dollar", "dollars", "bucks");
        Add("eur", "euro", "euros");
        Add("mph", "miles per hour");
        Add("kph", "kmh");
        return map.ToFrozenDictionary(StringComparer.Ordinal);
    }

    /// <summary>A currency sign before an amount: "$5" → "5 usd".</summary>
    [GeneratedRegex(@"(?<sign>[$€£])\s?(?<amount>[0-9][0-9,]*(?:\.[0-9]+)?)", RegexOptions.CultureInvariant)]
    private static partial Regex CurrencyRegex();

    /// <summary>A degree sign after a number, optionally with C or F.</summary>
    [GeneratedRegex(@"(?<=[0-9])\s?°\s?(?<unit>[cf](?![a-z]))?", RegexOptions.CultureInvariant)]
    private static partial Regex DegreeRegex();

    /// <summary>Phrases that join list items like "and".</summary>
    [GeneratedRegex(@"\s+(?:as\s+well\s+as|along\s+with|together\s+with|in\s+addition\s+to)\s+", RegexOptions.CultureInvariant)]
    private static partial Regex ConjunctionPhraseRegex();

    /// <summary>A dash or tilde between two numbers is a range: "2-3" → "2 to 3".</summary>
    [GeneratedRegex(@"(?<=[0-9])\s*[-–—~]\s*(?=[0-9])", RegexOptions.CultureInvariant)]
    private static partial Regex RangeDashRegex();

    private static AnswerToken ParseNumber(string text, int clause)
    {
        bool percent = text.EndsWith('%');
        string digits = text.Replace(",", string.Empty, StringComparison.Ordinal).TrimEnd('%').TrimEnd();
        double value = double.Parse(digits, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture);
        return NumberToken(value, percent, clause);
    }

    private static AnswerToken NumberToken(double value, bool percent, int clause)
    {
        if (value == 0)
        {
            value = 0; // fold -0 into 0
        }

        return new AnswerToken(value.ToString("R", CultureInfo.InvariantCulture), value, percent, clause);
    }

    private static string? NormalizeWord(string word)
    {
        int apostrophe = word.IndexOf('\'', StringComparison.Ordinal);
        if (apostrophe < 0)
        {
            return word == "cannot" ? "not" : word;
        }

        if (word.EndsWith("n't", StringComparison.Ordinal))
        {
            return "not";
        }

        // "cube's" → "cube", "it's" → "it", "they're" → "they".
        return apostrophe == 0 ? null : word[..apostrophe];
    }

    private List<AnswerToken> MergeNumbers(List<AnswerToken> raw)
    {
        var merged = new List<AnswerToken>(raw.Count);
        int i = 0;
        while (i < raw.Count)
        {
            AnswerToken token = raw[i];
            if (_numberWords && !token.IsNumber && TryParseNumberWords(raw, i, out double value, out int consumed))
            {
                merged.Add(NumberToken(value, false, token.Clause) with { Separator = token.Separator });
                i += consumed;
                continue;
            }

            // A unit word right after a number takes one spelling: "5 centimeters" = "5 cm".
            // "10 in" is ten inches when nothing follows "in" in its clause ("10 in the box" is not).
            if (merged.Count > 0 && merged[^1] is { IsNumber: true } && merged[^1].Clause == token.Clause && token.Text == "in"
                && (i + 1 == raw.Count || raw[i + 1].Clause != token.Clause))
            {
                merged.Add(token with { Text = "inch" });
                i++;
                continue;
            }

            if (merged.Count > 0 && merged[^1] is { IsNumber: true } && merged[^1].Clause == token.Clause && !token.IsNumber
                && UnitSynonyms.TryGetValue(token.Text, out string? unit))
            {
                merged.Add(token with { Text = unit });
                i++;
                continue;
            }

            // "50 percent", "50 per cent" mark the number as a percentage.
            if (merged.Count > 0 && merged[^1] is { IsNumber: true, IsPercent: false } previous && previous.Clause == token.Clause)
            {
                if (token.Text == "percent")
                {
                    merged[^1] = previous with { IsPercent = true };
                    i++;
                    continue;
                }

                if (token.Text == "per" && i + 1 < raw.Count && raw[i + 1].Text == "cent" && raw[i + 1].Clause == token.Clause)
                {
                    merged[^1] = previous with { IsPercent = true };
                    i += 2;
                    continue;
                }
            }

            merged.Add(token);
            i++;
        }

        return merged;
    }

    /// <summary>Reads a run of number words starting at <paramref name="start"/> within one clause.</summary>
    private static bool TryParseNumberWords(List<AnswerToken> tokens, int start, out double value, out int consumed)
    {
        int clause = tokens[start].Clause;
        double total = 0;
        double current = 0;
        Part last = Part.None;
        bool thousandSeen = false;
        int j = start;
        while (j < tokens.Count && tokens[j].Clause == clause && !tokens[j].IsNumber)
        {
            string w = tokens[j].Text;
            if (Units.TryGetValue(w, out int unit))
            {
                // "one two" is two numbers, "twenty twelve" too; "twenty one" is one.
                if (last == Part.Unit || (last == Part.Tens && (unit == 0 || unit >= 10)))
                {
                    break;
                }

                current += unit;
                last = Part.Unit;
            }
            else if (Tens.TryGetValue(w, out int tens))
            {
                if (last is Part.Unit or Part.Tens)
                {
                    break;
                }

                current += tens;
                last = Part.Tens;
            }
            else if (w == "hundred")
            {
                if (last == Part.Hundred || current >= 100)
                {
                    break;
                }

                current = (current == 0 ? 1 : current) * 100;
                last = Part.Hundred;
            }
            else if (w == "thousand")
            {
                if (thousandSeen || last == Part.Thousand)
                {
                    break;
                }

                total += (current == 0 ? 1 : current) * 1000;
                current = 0;
                thousandSeen = true;
                last = Part.Thousand;
            }
            else if (w == "dozen")
            {
                if (last is Part.Hundred or Part.Thousand)
                {
                    break;
                }

                current = (current == 0 ? 1 : current) * 12;
                j++;
                break;
            }
            else if (w == "and" && last is Part.Hundred or Part.Thousand && j + 1 < tokens.Count && tokens[j + 1].Clause == clause
                && (Units.ContainsKey(tokens[j + 1].Text) || Tens.ContainsKey(tokens[j + 1].Text)))
            {
                // "one hundred and five": the "and" belongs to the number.
            }
            else
            {
                break;
            }

            j++;
        }

        consumed = j - start;
        value = total + current;
        return consumed > 0;
    }

    // A number (optional sign not glued to a word, thousands separators, decimals, optional percent) or a word.
    [GeneratedRegex(@"(?<num>(?<![\p{L}\p{N}.])[-+]?(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]+)?(?:\s?%)?|(?<![\p{L}\p{N}])[-+]?\.[0-9]+(?:\s?%)?)|(?<word>\p{L}[\p{L}\p{N}]*(?:'\p{L}+)*|\p{N}+)", RegexOptions.CultureInvariant)]
    private static partial Regex TokenRegex();
}
