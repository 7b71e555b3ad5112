using Vepa.Samples.SceneVepa.World;

namespace Vepa.Samples.SceneVepa.Reading;

/// <summary>A stated object: any of its attributes and its cell, each possibly unstated.</summary>
internal sealed record ObjectFact(int? Size, int? Colour, int? Shape, int? Cell);

/// <summary>A stated count of objects of a colour, a shape, or both ("two red objects", "no triangles").</summary>
internal sealed record CountFact(int? Colour, int? Shape, int Count);

/// <summary>A stated empty cell ("nothing at top left").</summary>
internal sealed record EmptyFact(int Cell);

/// <summary>The facts parsed from evidence, and how the text parsed.</summary>
internal sealed class SceneFacts
{
    public List<ObjectFact> Objects { get; } = [];

    public List<CountFact> Counts { get; } = [];

    public List<EmptyFact> Empty { get; } = [];

    /// <summary>Gets the number of segments (between commas and "and") that did not parse completely as facts.</summary>
    public int UnparsedSegments { get; set; }

    /// <summary>Gets the number of segments that consist only of answer words (a bare "yes", "two", "red"): stating an answer, not the scene.</summary>
    public int BareAnswerSegments { get; set; }

    public int FactCount => Objects.Count + Counts.Count + Empty.Count;

    /// <summary>
    /// Parses evidence. Segments are separated by ",", ";", "." and "and". In a segment the parser takes the longest fact at each
    /// position; with <paramref name="strict"/> a segment must be exactly one fact (anything else marks it unparsed), without it
    /// words that start no fact are skipped.
    /// </summary>
    public static SceneFacts Parse(string evidence, bool strict)
    {
        ArgumentNullException.ThrowIfNull(evidence);
        var facts = new SceneFacts();
        var tokens = Tokenize(evidence);
        foreach (var segment in Segments(tokens))
        {
            int i = 0;
            bool complete = true;
            int parsedHere = 0;
            while (i < segment.Count)
            {
                int used = TryFact(segment, i, facts);
                if (used > 0)
                {
                    parsedHere++;
                    i += used;
                    continue;
                }

                complete = false;
                i++;
            }

            if (!complete || (strict && parsedHere != 1))
            {
                facts.UnparsedSegments++;
            }

            if (parsedHere == 0 && segment.Any(IsAnswerWord))
            {
                facts.BareAnswerSegments++;
            }
        }

        return facts;
    }

    public static List<string> Tokenize(string text)
    {
        var tokens = new List<string>();
        var word = new System.Text.StringBuilder();
        foreach (char ch in text.ToLowerInvariant())
        {
            if (char.IsLetterOrDigit(ch))
            {
                word.Append(ch);
                continue;
            }

            Flush();
            if (ch is ',' or ';' or '.' or '?' or '!' or ':')
            {
                tokens.Add(ch.ToString());
            }
        }

        Flush();
        return tokens;

        void Flush()
        {
            if (word.Length > 0)
            {
                tokens.Add(word.ToString());
                word.Clear();
            }
        }
    }

    private static IEnumerable<List<string>> Segments(List<string> tokens)
    {
        var current = new List<string>();
        foreach (string t in tokens)
        {
            if (t is "," or ";" or "." or "and" or "!" or ":")
            {
                if (current.Count > 0)
                {
                    yield return current;
                }

                current = [];
                continue;
            }

            if (t != "?")
            {
                current.Add(t);
            }
        }

        if (current.Count > 0)
        {
            yield return current;
        }
    }

    private static bool IsAnswerWord(string t) =>
        t is "yes" or "no" or "true" or "false" || NumberValue(t) is not null ||
        Array.IndexOf(Attributes.Colours, t) >= 0 || Array.IndexOf(Attributes.Sizes, t) >= 0 ||
        Array.IndexOf(Attributes.Shapes, t) >= 0 || Array.IndexOf(Attributes.ShapePlurals, t) >= 0 || (t.Length == 1 && t[0] is >= 'a' and <= 'd');

    // Returns the number of tokens of the fact that starts at i (0 when none), adding the fact.
    private static int TryFact(List<string> s, int i, SceneFacts facts)
    {
        // nothing at POS
        if (s[i] == "nothing" && i + 1 < s.Count && s[i + 1] == "at")
        {
            int posLength = TryPosition(s, i + 2, out int cell);
            if (posLength > 0)
            {
                facts.Empty.Add(new EmptyFact(cell));
                return 2 + posLength;
            }

            return 0;
        }

        // (NUM | no) [COLOUR] (SHAPE(S) | object(s))
        int? number = s[i] == "no" ? 0 : NumberValue(s[i]);
        if (number is not null)
        {
            int j = i + 1;
            int? colour = j < s.Count ? IndexOf(Attributes.Colours, s[j]) : null;
            if (colour is not null)
            {
                j++;
            }

            if (j < s.Count)
            {
                int? shape = IndexOf(Attributes.Shapes, s[j]) ?? IndexOf(Attributes.ShapePlurals, s[j]);
                bool isObject = s[j] is "object" or "objects";
                if (shape is not null || (isObject && colour is not null))
                {
                    facts.Counts.Add(new CountFact(colour, shape, number.Value));
                    return j + 1 - i;
                }
            }

            return 0;
        }

        // [at] POS [SIZE] [COLOUR] (SHAPE | object): a position first, then at least one attribute.
        int first = s[i] == "at" ? i + 1 : i;
        int leading = TryPosition(s, first, out int leadingCell);
        if (leading > 0)
        {
            int e = first + leading;
            int? lsize = e < s.Count ? IndexOf(Attributes.Sizes, s[e]) : null;
            if (lsize is not null)
            {
                e++;
            }

            int? lcol = e < s.Count ? IndexOf(Attributes.Colours, s[e]) : null;
            if (lcol is not null)
            {
                e++;
            }

            int? lshape = e < s.Count ? IndexOf(Attributes.Shapes, s[e]) : null;
            if (lshape is not null || (e < s.Count && s[e] == "object" && (lsize is not null || lcol is not null)))
            {
                e++;
            }

            if (lsize is null && lcol is null && lshape is null)
            {
                return 0;
            }

            facts.Objects.Add(new ObjectFact(lsize, lcol, lshape, leadingCell));
            return e - i;
        }

        // [SIZE] [COLOUR] [SHAPE | object] [at POS]: at least one attribute, and a head word or a position.
        int k = i;
        int? size = IndexOf(Attributes.Sizes, s[k]);
        if (size is not null)
        {
            k++;
        }

        int? col = k < s.Count ? IndexOf(Attributes.Colours, s[k]) : null;
        if (col is not null)
        {
            k++;
        }

        int? shp = k < s.Count ? IndexOf(Attributes.Shapes, s[k]) : null;
        bool head = shp is not null || (k < s.Count && s[k] == "object");
        if (head)
        {
            k++;
        }

        int? at = null;
        if (k + 1 < s.Count && s[k] == "at")
        {
            int posLength = TryPosition(s, k + 1, out int cell);
            if (posLength > 0)
            {
                at = cell;
                k += 1 + posLength;
            }
        }

        bool anyAttribute = size is not null || col is not null || shp is not null;
        if (!anyAttribute || (!head && at is null))
        {
            return 0;
        }

        facts.Objects.Add(new ObjectFact(size, col, shp, at));
        return k - i;
    }

    public static int TryPosition(List<string> s, int i, out int cell)
    {
        cell = -1;
        if (i >= s.Count)
        {
            return 0;
        }

        if (s[i] == "center")
        {
            cell = 4;
            return 1;
        }

        int row = s[i] switch { "top" => 0, "middle" => 1, "bottom" => 2, _ => -1 };
        if (row < 0 || i + 1 >= s.Count)
        {
            return 0;
        }

        int column = s[i + 1] switch { "left" => 0, "middle" => 1, "right" => 2, _ => -1 };
        if (column < 0 || (row == 1 && column == 1))
        {
            return 0;
        }

        cell = (row * 3) + column;
        return 2;
    }

    public static int? IndexOf(string[] words, string word)
    {
        int index = Array.IndexOf(words, word);
        return index >= 0 ? index : null;
    }

    public static int? NumberValue(string word)
    {
        int index = Array.IndexOf(Attributes.Numbers, word);
        if (index >= 0)
        {
            return index;
        }

        return word.Length == 1 && char.IsAsciiDigit(word[0]) ? word[0] - '0' : null;
    }
}
