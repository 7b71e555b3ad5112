using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Vepa.Rewards;

/// <summary>Makes evidence safe to put inside the reader prompt's data block: nothing in it can forge a tag, a delimiter or an answer line.</summary>
/// <remarks>
/// <para>In order:</para>
/// <list type="number">
/// <item>The text is normalised as the reader will understand it (<see cref="Normalize"/>): line breaks unified; control characters other
/// than <c>\n</c> and <c>\t</c>, lone surrogates, and invisible format characters (zero-width spaces and joiners, word joiner, soft hyphen,
/// BOM, bidirectional controls, Unicode tag characters, variation selectors) removed, so they cannot hide inside a tag; every encoding a
/// reader decodes (HTML/XML entities named, decimal and hexadecimal, <c>\u</c> and <c>\x</c> escapes, percent-encoding, Markdown escapes,
/// and mixtures of them) decoded by <see cref="EvidenceDecoder"/>; NFKC applied, which folds full-width and other compatibility forms
/// (<c>［［honest］］</c>, <c>＜think＞</c>) to ASCII; all repeated until nothing changes.</item>
/// <item>Every bracket-like character becomes a round parenthesis: square and curly brackets, angle brackets and the less/greater-than signs,
/// and their look-alikes (any Unicode opening or closing punctuation, angle quotation marks, modifier and syllabic look-alikes, ≪ ≫ ≺ ≻ …).
/// A verdict tag (<c>[[honest]]</c>), a think tag (<c>&lt;/think&gt;</c>), a chat-template marker (<c>&lt;|im_end|&gt;</c>, <c>[INST]</c>) or
/// the data block's own delimiters (<c>&lt;description&gt;</c>) can then no longer be written.</item>
/// <item>A label that the reply parser or the reader could take for structure (<c>Answer:</c>, <c>Final answer:</c>, <c>Verdict:</c>,
/// <c>Task 2:</c>, <c>System:</c>, <c>Assistant:</c>, <c>User:</c>, <c>Human:</c>, <c>Judge:</c>, <c>Instruction:</c>, <c>Reply:</c>,
/// <c>Question:</c>, <c>Options:</c>, <c>Description:</c>, …) loses its colon (and colon look-alikes such as <c>꞉</c> <c>∶</c>), equals
/// sign, spaced dash or arrow (<c>Answer, blue</c>), and "the answer is" becomes "the answer, is".</item>
/// </list>
/// <para>Pure and thread-safe.</para>
/// </remarks>
internal static partial class EvidenceNeutralizer
{
    /// <summary>Neutralises <paramref name="evidence"/>.</summary>
    /// <param name="evidence">The evidence as the policy wrote it.</param>
    /// <returns>The text to put inside the data block.</returns>
    public static string Neutralize(string evidence)
    {
        string text = Normalize(evidence);
        var builder = new StringBuilder(text.Length);
        foreach (char c in text)
        {
            builder.Append(MapBracket(c));
        }

        string labelled = StructuralLabelRegex().Replace(builder.ToString(), "${label},");
        return AnswerIsRegex().Replace(labelled, "${lead},${rest}");
    }

    /// <summary>Gives the text as the reader will understand it: line breaks unified, every encoding decoded (<see cref="EvidenceDecoder"/>),
    /// NFKC applied and invisible characters removed, repeated until nothing changes (NFKC can produce an encoding, decoding a
    /// compatibility form). Its length is what the evidence caps measure: NFKC can multiply the length of a text.</summary>
    /// <param name="evidence">The evidence as the policy wrote it.</param>
    /// <returns>The normalised text, before brackets and labels are neutralised.</returns>
    public static string Normalize(string evidence)
    {
        string text = evidence.Replace("\r\n", "\n", StringComparison.Ordinal).Replace('\r', '\n');
        for (int round = 0; round < EvidenceDecoder.MaxRounds; round++)
        {
            string before = text;
            text = RemoveInvisible(text);
            text = EvidenceDecoder.Decode(text);
            text = RemoveInvisible(text);
            text = text.IsNormalized(NormalizationForm.FormKC) ? text : text.Normalize(NormalizationForm.FormKC);

            // NFKC can produce new invisible characters from compatibility forms; remove them again.
            text = RemoveInvisible(text).Replace("\r\n", "\n", StringComparison.Ordinal).Replace('\r', '\n');
            if (string.Equals(before, text, StringComparison.Ordinal))
            {
                break;
            }
        }

        return text;
    }

    /// <summary>Removes control characters (except line feed and tab), lone surrogates and invisible format characters.</summary>
    /// <param name="text">The text.</param>
    /// <returns>The text without them.</returns>
    public static string RemoveInvisible(string text)
    {
        StringBuilder? builder = null;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            bool drop;
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                int codePoint = char.ConvertToUtf32(c, text[i + 1]);
                drop = IsInvisibleCodePoint(codePoint);
                if (!drop)
                {
                    builder?.Append(c).Append(text[i + 1]);
                }
                else
                {
                    builder ??= new StringBuilder(text.Length).Append(text, 0, i);
                }

                i++;
                continue;
            }

            drop = char.IsSurrogate(c) || (c != '\n' && c != '\t' && IsInvisibleCodePoint(c));
            if (drop)
            {
                builder ??= new StringBuilder(text.Length).Append(text, 0, i);
            }
            else
            {
                builder?.Append(c);
            }
        }

        return builder?.ToString() ?? text;
    }

    /// <summary>Gets whether a code point renders as nothing: a control or format character, a variation selector, a filler,
    /// a surrogate or a noncharacter (U+FDD0–U+FDEF, U+xFFFE, U+xFFFF: <see cref="string.Normalize()"/> throws on them).</summary>
    /// <param name="codePoint">The code point.</param>
    /// <returns><see langword="true"/> for invisible code points.</returns>
    public static bool IsInvisibleCodePoint(int codePoint)
    {
        if (codePoint is (>= 0xFDD0 and <= 0xFDEF) || (codePoint & 0xFFFE) == 0xFFFE)
        {
            return true;
        }

        if (codePoint is (>= 0xFE00 and <= 0xFE0F) or (>= 0xE0100 and <= 0xE01EF) or 0x034F or 0x115F or 0x1160 or 0x3164 or 0xFFA0 or 0x180E or 0x2800)
        {
            return true;
        }

        UnicodeCategory category = CharUnicodeInfo.GetUnicodeCategory(codePoint);
        return category is UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.Surrogate;
    }

    private static char MapBracket(char c)
    {
        if (c is '(' or ')')
        {
            return c;
        }

        switch (c)
        {
            case '<' or '‹' or '«' or '˂' or 'ᐸ' or '≪' or '≺' or '⋖' or '⊏' or '⟨' or '〈' or '❬' or '❮' or '❰' or '⧼' or '﹤':
                return '(';
            case '>' or '›' or '»' or '˃' or 'ᐳ' or '≫' or '≻' or '⋗' or '⊐' or '⟩' or '〉' or '❭' or '❯' or '❱' or '⧽' or '﹥':
                return ')';
        }

        return CharUnicodeInfo.GetUnicodeCategory(c) switch
        {
            UnicodeCategory.OpenPunctuation => '(',
            UnicodeCategory.ClosePunctuation => ')',
            _ => c,
        };
    }

    /// <summary>A word the reply parser or a chat template reads as structure, followed by a colon or an equals sign.</summary>
    [GeneratedRegex(
        @"(?<label>\b(?:(?:final|short|correct|true|real)\s+)?(?:answer|verdict|task\s*\d+|system|assistant|user|human|ai|bot|model|developer|tool|judge|instructions?|reply|response|output|note|result|decision|label|honesty|cheat(?:ing)?|honest|question|options?|choices?|description|evidence)\b)\s*(?:[:=꞉∶ː˸׃܃⁚]|[-–—―‒−]+(?=[\s)])|[-=]+\)|[→⇒⟶⟹➔➜➝➞➡])",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex StructuralLabelRegex();

    /// <summary>"The answer is …", which the reply parser reads as an answer label.</summary>
    [GeneratedRegex(@"(?<lead>\b(?:the\s+)?(?:final\s+|correct\s+|right\s+)?answer)(?<rest>\s+(?:is|would\s+be|should\s+be|will\s+be)\b)", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex AnswerIsRegex();
}
