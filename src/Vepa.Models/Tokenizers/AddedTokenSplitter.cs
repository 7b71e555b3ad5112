namespace Vepa.Models;

/// <summary>Finds added tokens in text as whole strings, leftmost first and longest at a position (Hugging Face's AddedVocabulary matching).</summary>
/// <remarks>Immutable and thread-safe.</remarks>
internal sealed class AddedTokenSplitter
{
    private readonly Dictionary<char, (string Content, int Id)[]> _byFirstChar;

    public AddedTokenSplitter(IEnumerable<(string Content, int Id)> tokens)
    {
        _byFirstChar = tokens
            .Where(t => t.Content.Length > 0)
            .GroupBy(t => t.Content[0])
            .ToDictionary(g => g.Key, g => g.OrderByDescending(t => t.Content.Length).ToArray());
    }

    /// <summary>Gets whether there are no tokens to find.</summary>
    public bool IsEmpty => _byFirstChar.Count == 0;

    /// <summary>Splits text into runs: (start, length, id) where id is the added token's id or -1 for ordinary text.</summary>
    /// <param name="text">The text.</param>
    /// <param name="accept">When given, a match (start, id) counts only if this returns true; otherwise the next candidate is tried.</param>
    public List<(int Start, int Length, int Id)> Split(string text, Func<int, int, bool>? accept = null)
    {
        var runs = new List<(int Start, int Length, int Id)>();
        int plainStart = 0;
        int i = 0;
        while (i < text.Length)
        {
            if (_byFirstChar.TryGetValue(text[i], out var candidates) && Match(text, i, candidates, accept) is { } token)
            {
                if (i > plainStart)
                {
                    runs.Add((plainStart, i - plainStart, -1));
                }

                runs.Add((i, token.Content.Length, token.Id));
                i += token.Content.Length;
                plainStart = i;
            }
            else
            {
                i++;
            }
        }

        if (text.Length > plainStart)
        {
            runs.Add((plainStart, text.Length - plainStart, -1));
        }

        return runs;
    }

    private static (string Content, int Id)? Match(string text, int at, (string Content, int Id)[] candidates, Func<int, int, bool>? accept)
    {
        foreach (var candidate in candidates)
        {
            if (at + candidate.Content.Length <= text.Length && string.CompareOrdinal(text, at, candidate.Content, 0, candidate.Content.Length) == 0
                && (accept is null || accept(at, candidate.Id)))
            {
                return candidate;
            }
        }

        return null;
    }
}
