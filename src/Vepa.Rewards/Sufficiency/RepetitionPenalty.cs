using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Vepa.Rewards;

/// <summary>The paper's weak penalty γ ∈ (0, 1] for degenerate repetition, from how repetitive the evidence is.</summary>
/// <remarks>
/// <para><see cref="RepeatedNGramRatio"/> is the plain measure: words are maximal runs of letters and digits, lower-cased; punctuation is ignored;
/// ratio = 1 − (distinct n-grams) / (total n-grams), with total = max(0, words − n + 1); a text with fewer than n words has ratio 0.</para>
/// <para><see cref="Measure"/> is what the reward uses: the same ratio over folded content units within each sentence, or the share of
/// repeated sentences, whichever is larger (see <see cref="RepetitionPenaltyOptions"/>).</para>
/// <para>γ = 1 when ratio ≤ threshold, else it falls linearly from 1 at the threshold to the floor at ratio 1:
/// γ = 1 − (1 − floor) · (ratio − threshold) / (1 − threshold).</para>
/// <para>The methods are pure and safe to call from several threads.</para>
/// </remarks>
public static partial class RepetitionPenalty
{
    /// <summary>The largest supported n-gram size.</summary>
    public const int MaxNGramSize = 16;

    /// <summary>Computes the repeated n-gram ratio of <paramref name="text"/>: 1 − distinct / total n-grams over its words.</summary>
    /// <param name="text">The text (for example the evidence).</param>
    /// <param name="nGramSize">The n-gram length in words, in [1, <see cref="MaxNGramSize"/>].</param>
    /// <returns>The ratio in [0, 1); 0 when the text has fewer than <paramref name="nGramSize"/> words.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="text"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="nGramSize"/> is outside [1, <see cref="MaxNGramSize"/>].</exception>
    public static double RepeatedNGramRatio(string text, int nGramSize)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (nGramSize is < 1 or > MaxNGramSize)
        {
            throw new ArgumentOutOfRangeException(nameof(nGramSize), nGramSize, string.Create(CultureInfo.InvariantCulture, $"The n-gram size must be in [1, {MaxNGramSize}]; got {nGramSize}."));
        }

        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        var words = new List<int>();
        foreach (ValueMatch match in WordRegex().EnumerateMatches(text))
        {
            string word = text.Substring(match.Index, match.Length).ToLowerInvariant();
            if (!ids.TryGetValue(word, out int id))
            {
                id = ids.Count;
                ids[word] = id;
            }

            words.Add(id);
        }

        int total = words.Count - nGramSize + 1;
        if (total <= 0)
        {
            return 0;
        }

        var distinct = new HashSet<string>(StringComparer.Ordinal);
        var key = new StringBuilder();
        for (int start = 0; start < total; start++)
        {
            key.Clear();
            for (int k = 0; k < nGramSize; k++)
            {
                key.Append(words[start + k]).Append(' ');
            }

            distinct.Add(key.ToString());
        }

        return 1.0 - ((double)distinct.Count / total);
    }

    /// <summary>Measures how repetitive <paramref name="text"/> is, in a way that describing many similar objects does not trigger but repeats do.</summary>
    /// <param name="text">The text (for example the evidence).</param>
    /// <param name="nGramSize">The n-gram length in content units, in [1, <see cref="MaxNGramSize"/>].</param>
    /// <param name="options">The settings; <see langword="null"/> for the defaults.</param>
    /// <returns>The larger of the content n-gram ratio and the repeated-sentence share, in [0, 1).</returns>
    /// <remarks>
    /// <para>The text is first decoded as the reader reads it (HTML entities and escapes, as <c>EvidenceNeutralizer.Normalize</c> does), so
    /// <c>&amp;#98;lue</c> is the word "blue". Folding: invisible characters removed, NFKC, diacritics removed, lower case, Cyrillic and Greek look-alikes mapped to Latin letters.
    /// Units: words of letters and digits, except that each character of a script written without spaces (Han, kana, Thai, Lao, Khmer,
    /// Myanmar, Tibetan) is a unit of its own. Function words (articles, forms of "be" and "have", "there", pronouns, common prepositions and
    /// conjunctions, ordinals and connectives such as "again" or "also") are not content units, and neither is a list number that starts a sentence.</para>
    /// <para>Sentences end at . ! ? ; and line breaks (a dot between digits does not end one). The content n-gram ratio counts n-grams
    /// within sentences only. A sentence repeats an earlier one when their content-unit sets are equal (any order: "the cube is red" = "the red cube")
    /// or, when both have at least two adjacent content pairs, their pair sets overlap by at least
    /// <see cref="RepetitionPenaltyOptions.NearDuplicateSentenceOverlap"/> of the smaller set.</para>
    /// </remarks>
    /// <exception cref="ArgumentNullException"><paramref name="text"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="nGramSize"/> is outside [1, <see cref="MaxNGramSize"/>].</exception>
    /// <exception cref="ArgumentException"><paramref name="options"/> is invalid; the message lists every problem.</exception>
    public static double Measure(string text, int nGramSize, RepetitionPenaltyOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (nGramSize is < 1 or > MaxNGramSize)
        {
            throw new ArgumentOutOfRangeException(nameof(nGramSize), nGramSize, string.Create(CultureInfo.InvariantCulture, $"The n-gram size must be in [1, {MaxNGramSize}]; got {nGramSize}."));
        }

        options ??= DefaultOptions;
        OptionProblems.ThrowIfAny(RepetitionPenaltyOptionsValidator.GetProblems(options, string.Empty), "The repetition penalty options", nameof(options));
        List<List<string>> sentences = RepetitionText.ContentSentences(text);
        double nGramRatio = ContentNGramRatio(sentences, nGramSize);
        double sentenceRatio = options.MeasureSentences ? RepeatedSentenceShare(sentences, options.NearDuplicateSentenceOverlap) : 0;
        return Math.Max(nGramRatio, sentenceRatio);
    }

    /// <summary>Counts the words of <paramref name="text"/> as the reader reads it (decoded first, as <see cref="Measure"/>; then maximal runs of
    /// letters and digits, each character of an unsegmented script counting one).</summary>
    /// <param name="text">The text.</param>
    /// <returns>The number of words.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="text"/> is <see langword="null"/>.</exception>
    public static int CountWords(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return RepetitionText.CountUnits(text);
    }

    /// <summary>Maps a repeated n-gram ratio to the penalty γ.</summary>
    /// <param name="ratio">The repeated n-gram ratio, in [0, 1].</param>
    /// <param name="threshold">The ratio up to which γ = 1, in [0, 1).</param>
    /// <param name="floor">γ at ratio 1, in (0, 1].</param>
    /// <returns>γ in [<paramref name="floor"/>, 1].</returns>
    /// <exception cref="ArgumentOutOfRangeException">An argument is outside its range (or NaN).</exception>
    public static double Gamma(double ratio, double threshold, double floor)
    {
        if (!(ratio >= 0 && ratio <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(ratio), ratio, string.Create(CultureInfo.InvariantCulture, $"The repeated n-gram ratio must be in [0, 1]; got {ratio}."));
        }

        if (!(threshold >= 0 && threshold < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(threshold), threshold, string.Create(CultureInfo.InvariantCulture, $"The repetition threshold must be in [0, 1); got {threshold}."));
        }

        if (!(floor > 0 && floor <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(floor), floor, string.Create(CultureInfo.InvariantCulture, $"The repetition floor must be in (0, 1]; got {floor}."));
        }

        return ratio <= threshold ? 1.0 : 1.0 - ((1.0 - floor) * (ratio - threshold) / (1.0 - threshold));
    }

    private static readonly RepetitionPenaltyOptions DefaultOptions = new();

    private static double ContentNGramRatio(List<List<string>> sentences, int n)
    {
        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        var distinct = new HashSet<string>(StringComparer.Ordinal);
        var key = new StringBuilder();
        int total = 0;
        foreach (List<string> sentence in sentences)
        {
            for (int start = 0; start + n <= sentence.Count; start++)
            {
                key.Clear();
                for (int k = 0; k < n; k++)
                {
                    string unit = sentence[start + k];
                    if (!ids.TryGetValue(unit, out int id))
                    {
                        id = ids.Count;
                        ids[unit] = id;
                    }

                    key.Append(id).Append(' ');
                }

                distinct.Add(key.ToString());
                total++;
            }
        }

        return total == 0 ? 0 : 1.0 - ((double)distinct.Count / total);
    }

    private static double RepeatedSentenceShare(List<List<string>> sentences, double overlap)
    {
        var earlier = new List<(List<string> Sequence, HashSet<string> Units, HashSet<string> Pairs)>();
        int repeated = 0;
        foreach (List<string> sentence in sentences)
        {
            var units = new HashSet<string>(sentence, StringComparer.Ordinal);
            var pairs = new HashSet<string>(StringComparer.Ordinal);
            for (int i = 0; i + 1 < sentence.Count; i++)
            {
                pairs.Add(sentence[i] + " " + sentence[i + 1]);
            }

            int templateMatches = 0;
            bool isRepeat = false;
            foreach ((List<string> previousSequence, HashSet<string> previousUnits, HashSet<string> previousPairs) in earlier)
            {
                int smaller = Math.Min(previousPairs.Count, pairs.Count);
                if (previousUnits.SetEquals(units) || (smaller >= 2 && (double)previousPairs.Count(pairs.Contains) / smaller >= overlap))
                {
                    isRepeat = true;
                    break;
                }

                // A template with one slot varied (a counter, a trailing number, a random word): the same content units but one. Two
                // sentences may share a template honestly ("a large red cube", "a large red sphere"); the third one on it is a loop.
                if (Math.Max(sentence.Count, previousSequence.Count) >= 3 && IsOneEditApart(sentence, previousSequence) && ++templateMatches >= 2)
                {
                    isRepeat = true;
                    break;
                }
            }

            if (isRepeat)
            {
                repeated++;
            }

            earlier.Add((sentence, units, pairs));
        }

        return earlier.Count == 0 ? 0 : (double)repeated / earlier.Count;
    }

    /// <summary>Gets whether two unit sequences are one substitution, insertion or deletion apart.</summary>
    private static bool IsOneEditApart(List<string> a, List<string> b)
    {
        if (Math.Abs(a.Count - b.Count) > 1)
        {
            return false;
        }

        int i = 0;
        while (i < a.Count && i < b.Count && string.Equals(a[i], b[i], StringComparison.Ordinal))
        {
            i++;
        }

        int ja = a.Count - 1;
        int jb = b.Count - 1;
        while (ja >= i && jb >= i && string.Equals(a[ja], b[jb], StringComparison.Ordinal))
        {
            ja--;
            jb--;
        }

        // What is left between the common prefix and suffix: at most one unit on each side.
        return ja - i < 1 && jb - i < 1;
    }

    [GeneratedRegex(@"[\p{L}\p{N}]+", RegexOptions.CultureInvariant)]
    private static partial Regex WordRegex();
}
