using System.Globalization;

namespace Vepa.Rewards;

/// <summary>Checks on evidence before it is read.</summary>
internal static class EvidenceChecks
{
    /// <summary>Gets whether <paramref name="evidence"/> holds nothing visible: only white space, control and format characters (zero-width
    /// spaces and joiners, NUL, BOM, bidirectional controls), lone surrogates, combining marks without a base, variation selectors and fillers.</summary>
    /// <param name="evidence">The evidence.</param>
    /// <returns><see langword="true"/> when the evidence counts as empty.</returns>
    public static bool IsBlank(string evidence)
    {
        for (int i = 0; i < evidence.Length; i++)
        {
            char c = evidence[i];
            int codePoint = c;
            if (char.IsHighSurrogate(c) && i + 1 < evidence.Length && char.IsLowSurrogate(evidence[i + 1]))
            {
                codePoint = char.ConvertToUtf32(c, evidence[i + 1]);
                i++;
            }
            else if (char.IsSurrogate(c))
            {
                continue;
            }

            if (char.IsWhiteSpace(c) || EvidenceNeutralizer.IsInvisibleCodePoint(codePoint))
            {
                continue;
            }

            UnicodeCategory category = CharUnicodeInfo.GetUnicodeCategory(codePoint);
            if (category is UnicodeCategory.NonSpacingMark or UnicodeCategory.EnclosingMark or UnicodeCategory.SpaceSeparator
                or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator or UnicodeCategory.OtherNotAssigned)
            {
                continue;
            }

            return false;
        }

        return true;
    }
}
