using System.Collections.Frozen;

namespace Vepa.Rewards;

/// <summary>Finds answers that name more than one candidate of the gold's kind (another number, another colour) and golds that only
/// modify the head of a compound ("bus stop" for "bus").</summary>
/// <remarks>Pure and thread-safe.</remarks>
internal static class AnswerCandidates
{
    /// <summary>Colour words (American spellings: the conventions fold British ones first), with their "-ish" forms.</summary>
    public static readonly FrozenSet<string> Colours = new[]
    {
        "red", "blue", "green", "yellow", "orange", "purple", "violet", "pink", "brown", "black", "white", "gray", "silver", "gold",
        "golden", "beige", "tan", "cyan", "magenta", "turquoise", "teal", "lime", "indigo", "lavender",
        "reddish", "bluish", "blueish", "greenish", "yellowish", "orangish", "orangey", "pinkish", "purplish", "brownish", "blackish",
        "whitish", "grayish",
    }.ToFrozenSet(StringComparer.Ordinal);

    /// <summary>Words that shade a colour without naming another ("light blue", "dark red").</summary>
    private static readonly FrozenSet<string> Shades = new[]
    {
        "light", "dark", "bright", "pale", "deep", "pastel", "neon", "vivid", "dull", "muted", "faded", "metallic", "shiny", "matte", "colored", "color",
    }.ToFrozenSet(StringComparer.Ordinal);

    /// <summary>Words after a noun that do not make it the modifier of a compound: verbs and states a description puts after its subject.</summary>
    private static readonly FrozenSet<string> Followers = new[]
    {
        "is", "are", "was", "were", "be", "has", "have", "had", "sits", "sit", "stands", "stand", "lies", "lie", "runs", "run", "walks",
        "walk", "eats", "eat", "holds", "hold", "looks", "look", "plays", "play", "rides", "ride", "waits", "wait", "sleeps", "sleep",
        "jumps", "jump", "flies", "fly", "swims", "swim", "drinks", "drink", "wears", "wear", "carries", "carry", "moves", "move",
        "because", "since", "as", "so", "too", "also", "again", "here", "there", "again", "now", "alone", "only", "itself", "please",
        "probably", "definitely", "certainly", "indeed", "obviously", "clearly", "yes", "no", "not", "right", "left", "inside", "outside",
        "nearby", "behind", "ahead", "above", "below", "today", "though", "on", "in", "at", "by", "with", "near", "under", "over", "next",
        "beside", "between", "from", "of", "for", "to", "into", "onto", "around", "along", "across", "against", "through", "toward",
        "towards", "without", "and", "or", "but", "nor", "than", "like", "while", "where", "when", "which", "who", "that", "this",

        // Heads that name a form or a part of the gold, not another thing ("ice cream cone", "pizza slice", "left side").
        "cone", "cones", "slice", "slices", "piece", "pieces", "cup", "scoop", "scoops", "bar", "side", "sides", "one", "ones", "part",
        "area", "corner", "half", "end", "edge", "top", "bottom", "shape", "kind", "type", "style", "breed", "color", "colors",
    }.ToFrozenSet(StringComparer.Ordinal);

    /// <summary>Gets whether every content word of the gold is a colour or a shade, and one is a colour.</summary>
    public static bool IsColourGold(IReadOnlyList<AnswerToken> gold)
        => gold.Count > 0 && gold.All(t => !t.IsNumber && (Colours.Contains(t.Text) || Shades.Contains(t.Text))) && gold.Any(t => Colours.Contains(t.Text));

    /// <summary>Gets whether the answer names a candidate of the gold's kind that the gold does not hold: another number for a numeric gold,
    /// another colour for a colour gold. A negated mention ("red, not blue") is a rejection, not a candidate.</summary>
    /// <param name="answer">The answer's tokens (all of them).</param>
    /// <param name="gold">The gold's content tokens.</param>
    /// <param name="sameNumber">Whether two number tokens agree within the tolerance.</param>
    /// <param name="isNegated">Whether the answer token at an index is negated.</param>
    /// <returns><see langword="true"/> when another candidate is named.</returns>
    public static bool NamesAnotherCandidate(IReadOnlyList<AnswerToken> answer, IReadOnlyList<AnswerToken> gold, Func<AnswerToken, AnswerToken, bool> sameNumber, Func<int, bool> isNegated)
    {
        AnswerToken[] goldNumbers = gold.Where(t => t.IsNumber).ToArray();
        if (goldNumbers.Length == 1 && gold.Count(t => !t.IsNumber) <= 1)
        {
            for (int i = 0; i < answer.Count; i++)
            {
                if (answer[i].IsNumber && !sameNumber(answer[i], goldNumbers[0]) && !isNegated(i))
                {
                    return true;
                }
            }

            return false;
        }

        if (IsColourGold(gold))
        {
            var goldColours = new HashSet<string>(gold.Where(t => Colours.Contains(t.Text)).Select(t => t.Text), StringComparer.Ordinal);
            for (int i = 0; i < answer.Count; i++)
            {
                if (!answer[i].IsNumber && Colours.Contains(answer[i].Text) && !goldColours.Contains(answer[i].Text) && !isNegated(i))
                {
                    return true;
                }
            }
        }

        return false;
    }

    /// <summary>Gets whether the gold occurrence ending before <paramref name="next"/> modifies a following noun ("bus stop", "dog house"):
    /// the next word follows with no separator, in the same clause, and is neither a function word, a number, a verb or state word, nor an
    /// "-ing", "-ed" or "-ly" form. Colour and number golds are exempt ("red car", "2 apples").</summary>
    /// <param name="all">The answer's tokens.</param>
    /// <param name="next">The index of the token after the occurrence.</param>
    /// <param name="stopWords">The stop words.</param>
    /// <returns><see langword="true"/> when the gold is a modifier.</returns>
    public static bool IsCompoundModifier(IReadOnlyList<AnswerToken> all, int next, FrozenSet<string> stopWords)
    {
        if (next <= 0 || next >= all.Count)
        {
            return false;
        }

        AnswerToken token = all[next];
        if (token.IsNumber || token.Separator != '\0' || token.Clause != all[next - 1].Clause)
        {
            return false;
        }

        string word = token.Text;
        return !stopWords.Contains(word) && !Followers.Contains(word) && !Colours.Contains(word)
               && !word.EndsWith("ing", StringComparison.Ordinal) && !word.EndsWith("ed", StringComparison.Ordinal) && !word.EndsWith("ly", StringComparison.Ordinal)
               && !word.StartsWith("ordinal", StringComparison.Ordinal);
    }
}
