using System.Text;

namespace Vepa.Models;

/// <summary>NFC that accepts every Unicode scalar value, as Hugging Face's normalizer does.</summary>
/// <remarks>.NET's <see cref="string.Normalize(NormalizationForm)"/> throws on noncharacters (U+FFFE, U+FFFF, U+FDD0-U+FDEF and
/// U+nFFFE/U+nFFFF in every plane), though they are valid text. A noncharacter has no decomposition, never composes and is a starter
/// (combining class 0), so it blocks composition and reordering across it: normalizing the runs between noncharacters and keeping
/// the noncharacters as they are gives exactly the NFC of the whole.</remarks>
internal static class UnicodeNfc
{
    public static string Normalize(string text)
    {
        int first = IndexOfNoncharacter(text, 0);
        if (first < 0)
        {
            return text.IsNormalized(NormalizationForm.FormC) ? text : text.Normalize(NormalizationForm.FormC);
        }

        var builder = new StringBuilder(text.Length);
        int start = 0;
        for (int at = first; at >= 0; at = IndexOfNoncharacter(text, start))
        {
            builder.Append(text.AsSpan(start, at - start).ToString().Normalize(NormalizationForm.FormC));
            int width = char.IsHighSurrogate(text[at]) ? 2 : 1;
            builder.Append(text, at, width);
            start = at + width;
        }

        builder.Append(text[start..].Normalize(NormalizationForm.FormC));
        return builder.ToString();
    }

    private static int IndexOfNoncharacter(string text, int start)
    {
        for (int i = start; i < text.Length; i++)
        {
            int codePoint = text[i];
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                codePoint = char.ConvertToUtf32(text[i], text[i + 1]);
                if ((codePoint & 0xFFFE) == 0xFFFE)
                {
                    return i;
                }

                i++;
                continue;
            }

            if ((codePoint & 0xFFFE) == 0xFFFE || (codePoint >= 0xFDD0 && codePoint <= 0xFDEF))
            {
                return i;
            }
        }

        return -1;
    }
}
