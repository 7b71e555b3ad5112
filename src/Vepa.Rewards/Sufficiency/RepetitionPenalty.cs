using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Vepa.Rewards;

/// <summary>The paper's weak penalty γ ∈ (0, 1] for degenerate repetition, from the repeated n-gram ratio of the evidence.</summary>
/// <remarks>
/// <para>Words are maximal runs of letters and digits, lower-cased; punctuation is ignored.</para>
/// <para>ratio = 1 − (distinct n-grams) / (total n-grams), with total = max(0, words − n + 1); a text with fewer than n words has ratio 0.</para>
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

    [GeneratedRegex(@"[\p{L}\p{N}]+", RegexOptions.CultureInvariant)]
    private static partial Regex WordRegex();
}
