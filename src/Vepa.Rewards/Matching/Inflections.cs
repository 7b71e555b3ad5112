using System.Collections.Frozen;

namespace Vepa.Rewards;

/// <summary>Singular and plural variants of English nouns, for expanding a gold answer.</summary>
/// <remarks>
/// Rules produce candidates, not dictionary words: a candidate that is not a word ("bu" from "bus") is harmless because it is
/// only ever compared with words that occur in an answer.
/// </remarks>
internal static class Inflections
{
    private const int MinRuleLength = 3;

    private static readonly (string Singular, string Plural)[] Irregular =
    [
        ("person", "people"), ("child", "children"), ("man", "men"), ("woman", "women"), ("mouse", "mice"),
        ("goose", "geese"), ("foot", "feet"), ("tooth", "teeth"), ("ox", "oxen"), ("louse", "lice"), ("die", "dice"),
        ("cactus", "cacti"), ("fungus", "fungi"), ("nucleus", "nuclei"), ("radius", "radii"), ("stimulus", "stimuli"),
        ("analysis", "analyses"), ("axis", "axes"), ("crisis", "crises"), ("thesis", "theses"), ("phenomenon", "phenomena"),
        ("criterion", "criteria"), ("datum", "data"), ("bacterium", "bacteria"), ("index", "indices"), ("vertex", "vertices"),
        ("matrix", "matrices"), ("appendix", "appendices"), ("policeman", "policemen"), ("fireman", "firemen"),
        ("businessman", "businessmen"), ("snowman", "snowmen"), ("fisherman", "fishermen"),
    ];

    private static readonly FrozenDictionary<string, string[]> IrregularForms = BuildIrregularForms();

    /// <summary>Gets <paramref name="word"/> with its candidate singular and plural forms.</summary>
    /// <param name="word">A lower-case word.</param>
    /// <returns>The word and its variants.</returns>
    public static HashSet<string> Variants(string word)
    {
        var variants = new HashSet<string>(StringComparer.Ordinal) { word };
        if (IrregularForms.TryGetValue(word, out string[]? forms))
        {
            variants.UnionWith(forms);
        }

        if (word.Length < MinRuleLength || !word.All(char.IsLetter))
        {
            return variants;
        }

        AddPlurals(word, variants);
        AddSingulars(word, variants);
        return variants;
    }

    private static void AddPlurals(string w, HashSet<string> variants)
    {
        if (w.EndsWith('s') || w.EndsWith('x') || w.EndsWith('z') || w.EndsWith("ch", StringComparison.Ordinal) || w.EndsWith("sh", StringComparison.Ordinal))
        {
            variants.Add(w + "es"); // bus → buses, box → boxes, church → churches
        }
        else if (w.EndsWith('y'))
        {
            variants.Add(IsVowel(w[^2]) ? w + "s" : string.Concat(w.AsSpan(0, w.Length - 1), "ies")); // boy → boys, city → cities
        }
        else if (w.EndsWith("fe", StringComparison.Ordinal))
        {
            variants.Add(string.Concat(w.AsSpan(0, w.Length - 2), "ves")); // knife → knives
            variants.Add(w + "s"); // safe → safes
        }
        else if (w.EndsWith('f'))
        {
            variants.Add(string.Concat(w.AsSpan(0, w.Length - 1), "ves")); // leaf → leaves
            variants.Add(w + "s"); // roof → roofs
        }
        else if (w.EndsWith('o'))
        {
            variants.Add(w + "es"); // tomato → tomatoes
            variants.Add(w + "s"); // photo → photos
        }
        else
        {
            variants.Add(w + "s");
        }
    }

    private static void AddSingulars(string w, HashSet<string> variants)
    {
        if (w.EndsWith("ies", StringComparison.Ordinal) && w.Length > 4)
        {
            variants.Add(string.Concat(w.AsSpan(0, w.Length - 3), "y")); // cities → city
        }

        if (w.EndsWith("ves", StringComparison.Ordinal) && w.Length > 4)
        {
            variants.Add(string.Concat(w.AsSpan(0, w.Length - 3), "f")); // leaves → leaf
            variants.Add(string.Concat(w.AsSpan(0, w.Length - 3), "fe")); // knives → knife
        }

        if (w.EndsWith("es", StringComparison.Ordinal) && w.Length > 3)
        {
            variants.Add(w[..^2]); // boxes → box, buses → bus
        }

        if (w.EndsWith('s') && !w.EndsWith("ss", StringComparison.Ordinal))
        {
            variants.Add(w[..^1]); // cubes → cube, houses → house
        }
    }

    private static bool IsVowel(char c) => c is 'a' or 'e' or 'i' or 'o' or 'u';

    private static FrozenDictionary<string, string[]> BuildIrregularForms()
    {
        var forms = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach ((string singular, string plural) in Irregular)
        {
            Add(singular, plural);
            Add(plural, singular);
        }

        return forms.ToFrozenDictionary(pair => pair.Key, pair => pair.Value.ToArray(), StringComparer.Ordinal);

        void Add(string from, string to)
        {
            if (!forms.TryGetValue(from, out List<string>? list))
            {
                forms[from] = list = [];
            }

            list.Add(to);
        }
    }
}
