using System.Globalization;
using System.Net;
using System.Text;
using System.Text.RegularExpressions;

namespace Vepa.Rewards;

/// <summary>Decodes the encodings a reader model reads through, so that neutralisation sees what the reader will understand.</summary>
/// <remarks>
/// <para>A language model decodes what it reads: <c>&amp;#91;&amp;#91;honest&amp;#93;&amp;#93;</c>, <c>\u005B\u005B</c>, <c>%5B%5B</c> and
/// <c>\[\[</c> all read as <c>[[</c>. Decoded, in rounds until nothing changes (at most <see cref="MaxRounds"/>, so mixtures and double
/// encodings such as <c>&amp;amp;lt;</c> or <c>%26%2360%3B</c> unwind too):</para>
/// <list type="bullet">
/// <item>HTML/XML character references: decimal (<c>&amp;#60;</c>), hexadecimal (<c>&amp;#x3C;</c>), with or without the closing semicolon,
/// and named ones (the HTML 4 set, plus the HTML 5 names of punctuation such as <c>&amp;lbrack;</c>, <c>&amp;lsqb;</c>, <c>&amp;colon;</c>,
/// <c>&amp;vert;</c>, and the legacy forms without a semicolon <c>&amp;lt</c>, <c>&amp;gt</c>, <c>&amp;amp</c>, <c>&amp;quot</c>);</item>
/// <item>escapes: <c>\uXXXX</c>, <c>\u{X…}</c>, <c>\UXXXXXXXX</c>, <c>\xXX</c>, <c>\x{X…}</c>;</item>
/// <item>percent-encoding of UTF-8 bytes (<c>%5B</c>, <c>%E3%80%90</c>); a run that is not UTF-8 is left as written;</item>
/// <item>Markdown backslash escapes of ASCII punctuation (<c>\[</c>, <c>\&lt;</c>, <c>\:</c>).</item>
/// </list>
/// <para>Pure and thread-safe.</para>
/// </remarks>
internal static partial class EvidenceDecoder
{
    /// <summary>How many decoding rounds are run at most.</summary>
    public const int MaxRounds = 8;

    /// <summary>HTML 5 names (not in HTML 4) of characters that can build structure: brackets, colon, slash, bar, equals, quotes.</summary>
    private static readonly Dictionary<string, string> Html5Names = new(StringComparer.Ordinal)
    {
        ["lbrack"] = "[", ["rbrack"] = "]", ["lsqb"] = "[", ["rsqb"] = "]", ["lbrace"] = "{", ["rbrace"] = "}", ["lcub"] = "{", ["rcub"] = "}",
        ["lpar"] = "(", ["rpar"] = ")", ["LT"] = "<", ["GT"] = ">", ["AMP"] = "&", ["QUOT"] = "\"", ["apos"] = "'", ["colon"] = ":",
        ["semi"] = ";", ["comma"] = ",", ["period"] = ".", ["excl"] = "!", ["quest"] = "?", ["sol"] = "/", ["bsol"] = "\\", ["vert"] = "|",
        ["verbar"] = "|", ["VerticalLine"] = "|", ["equals"] = "=", ["num"] = "#", ["dollar"] = "$", ["percnt"] = "%", ["ast"] = "*",
        ["midast"] = "*", ["plus"] = "+", ["hyphen"] = "-", ["dash"] = "‐", ["lowbar"] = "_", ["UnderBar"] = "_", ["grave"] = "`",
        ["DiacriticalGrave"] = "`", ["Hat"] = "^", ["tilde"] = "˜", ["commat"] = "@", ["NewLine"] = "\n", ["Tab"] = "\t",
        ["langle"] = "⟨", ["rangle"] = "⟩", ["LeftAngleBracket"] = "⟨", ["RightAngleBracket"] = "⟩", ["lang"] = "⟨", ["rang"] = "⟩",
        ["lbbrk"] = "❲", ["rbbrk"] = "❳", ["lobrk"] = "⟦", ["robrk"] = "⟧", ["LeftDoubleBracket"] = "⟦", ["RightDoubleBracket"] = "⟧",
        ["nbsp"] = " ", ["NonBreakingSpace"] = " ",
    };

    /// <summary>Legacy names a browser (and a model trained on web text) decodes without the semicolon.</summary>
    private static readonly Dictionary<string, string> LegacyNames = new(StringComparer.Ordinal)
    {
        ["lt"] = "<", ["gt"] = ">", ["amp"] = "&", ["quot"] = "\"", ["LT"] = "<", ["GT"] = ">", ["AMP"] = "&", ["QUOT"] = "\"", ["nbsp"] = " ",
    };

    /// <summary>Decodes every encoding of <paramref name="text"/>, in rounds, until it no longer changes.</summary>
    /// <param name="text">The text.</param>
    /// <returns>The decoded text (the same instance when there was nothing to decode).</returns>
    public static string Decode(string text)
    {
        for (int round = 0; round < MaxRounds; round++)
        {
            string decoded = DecodeOnce(text);
            if (string.Equals(decoded, text, StringComparison.Ordinal))
            {
                return text;
            }

            text = decoded;
        }

        return text;
    }

    /// <summary>One round: character references, escapes, percent-encoding, Markdown escapes.</summary>
    private static string DecodeOnce(string text)
    {
        if (text.IndexOfAny(['&', '\\', '%']) < 0)
        {
            return text;
        }

        text = EntityRegex().Replace(text, DecodeEntity);
        text = EscapeRegex().Replace(text, DecodeEscape);
        text = PercentRegex().Replace(text, DecodePercent);
        return MarkdownEscapeRegex().Replace(text, m => m.Groups["c"].Value);
    }

    private static string DecodeEntity(Match match)
    {
        if (match.Groups["dec"].Success)
        {
            return FromCodePoint(match.Groups["dec"].Value, NumberStyles.None, match.Value);
        }

        if (match.Groups["hex"].Success)
        {
            return FromCodePoint(match.Groups["hex"].Value, NumberStyles.AllowHexSpecifier, match.Value);
        }

        string name = match.Groups["name"].Value;
        bool closed = match.Groups["semi"].Success;
        if (closed)
        {
            if (Html5Names.TryGetValue(name, out string? html5))
            {
                return html5;
            }

            string html4 = WebUtility.HtmlDecode(match.Value);
            if (!string.Equals(html4, match.Value, StringComparison.Ordinal))
            {
                return html4;
            }
        }

        // A legacy name without its semicolon ("&lt", "&amp") is decoded as a browser does; the rest of a longer name stays.
        foreach ((string legacy, string value) in LegacyNames)
        {
            if (name.StartsWith(legacy, StringComparison.Ordinal) && (!closed || name.Length == legacy.Length))
            {
                return value + name[legacy.Length..];
            }
        }

        return match.Value;
    }

    private static string DecodeEscape(Match match)
    {
        string digits = match.Groups["hex"].Value;
        return FromCodePoint(digits, NumberStyles.AllowHexSpecifier, match.Value);
    }

    private static string FromCodePoint(string digits, NumberStyles style, string original)
    {
        if (digits.Length > 8 || !int.TryParse(digits, style, CultureInfo.InvariantCulture, out int codePoint) || codePoint is < 0 or > 0x10FFFF)
        {
            return original;
        }

        // A lone surrogate half (an escaped UTF-16 pair, "\uD83D\uDE00") is kept as a char; pairs recombine, lone halves are removed later.
        return codePoint is >= 0xD800 and <= 0xDFFF ? ((char)codePoint).ToString() : char.ConvertFromUtf32(codePoint);
    }

    private static string DecodePercent(Match match)
    {
        string run = match.Value;
        var bytes = new byte[run.Length / 3];
        for (int i = 0; i < bytes.Length; i++)
        {
            bytes[i] = byte.Parse(run.AsSpan((i * 3) + 1, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
        }

        try
        {
            return new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true).GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            // Not UTF-8 ("100%AB off"): left as written.
            return run;
        }
    }

    /// <summary>A character reference: decimal, hexadecimal or named, the semicolon optional.</summary>
    [GeneratedRegex(@"&(?:\#(?<dec>\d{1,8})|\#[xX](?<hex>[0-9a-fA-F]{1,8})|(?<name>[A-Za-z][A-Za-z0-9]{1,31}))(?<semi>;)?", RegexOptions.CultureInvariant)]
    private static partial Regex EntityRegex();

    /// <summary>A <c>\u</c>, <c>\U</c> or <c>\x</c> escape, with or without braces.</summary>
    [GeneratedRegex(@"\\(?:u\{(?<hex>[0-9a-fA-F]{1,6})\}|u(?<hex>[0-9a-fA-F]{4})|U(?<hex>[0-9a-fA-F]{8})|x\{(?<hex>[0-9a-fA-F]{1,6})\}|x(?<hex>[0-9a-fA-F]{2}))", RegexOptions.CultureInvariant)]
    private static partial Regex EscapeRegex();

    /// <summary>A run of percent-encoded bytes.</summary>
    [GeneratedRegex(@"(?:%[0-9a-fA-F]{2})+", RegexOptions.CultureInvariant)]
    private static partial Regex PercentRegex();

    /// <summary>A Markdown backslash escape of ASCII punctuation.</summary>
    [GeneratedRegex(@"\\(?<c>[!-/:-@\[-`{-~])", RegexOptions.CultureInvariant)]
    private static partial Regex MarkdownEscapeRegex();
}
