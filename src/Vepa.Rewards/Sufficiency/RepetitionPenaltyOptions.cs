using System.ComponentModel.DataAnnotations;

namespace Vepa.Rewards;

/// <summary>Settings of the repetition measure that <see cref="SufficiencyRewardModel"/> turns into γ (see <see cref="RepetitionPenalty.Measure"/>).</summary>
/// <remarks>
/// <para>
/// The measure is the largest of two ratios, each in [0, 1): the repeated n-gram ratio over the evidence's <em>content</em> units (words
/// that are not function words, and single characters of scripts written without spaces), and the share of sentences that repeat an earlier
/// sentence (the same content words in any order, or adjacent content-word pairs that overlap by at least <see cref="NearDuplicateSentenceOverlap"/>). Text is folded
/// first: NFKC, invisible characters removed, diacritics removed, Cyrillic and Greek look-alikes mapped to Latin letters, list numbering
/// dropped. So "There is a large red cube. There is a small blue sphere." keeps γ = 1 while "1. The cube is red. 2. The cube is red.",
/// "The cube is red. The red cube is red." and homoglyph copies fall.
/// </para>
/// <para>Instances are not thread-safe; the reward model copies them when it is built.</para>
/// </remarks>
public sealed class RepetitionPenaltyOptions
{
    /// <summary>Gets or sets whether repeated sentences count (same content words in any order, or a near-duplicate).</summary>
    /// <value>The default is <see langword="true"/>.</value>
    public bool MeasureSentences { get; set; } = true;

    /// <summary>Gets or sets the overlap |A ∩ B| / min(|A|, |B|) of two sentences' sets of adjacent content-word pairs from which the later one repeats the earlier one.</summary>
    /// <value>The default is 0.8. Must be in (0, 1]. Sentences with fewer than 2 pairs repeat only an identical content-word set.</value>
    [Range(0.0, 1.0, MinimumIsExclusive = true)]
    public double NearDuplicateSentenceOverlap { get; set; } = 0.8;

    /// <summary>Gets or sets the length, in evidence words, above which γ is also scaled by <c>LengthPenaltyWords / words</c>
    /// (never below the repetition floor); <see langword="null"/> turns the length penalty off.</summary>
    /// <value>The default is 800 words: the paper's evidence averages about 200 tokens and the honest calibration texts stay far below, while
    /// evidence that fills the default cap of 8000 characters (about 1300 words) with no new content keeps at most about 0.6 of γ. Must be in
    /// [1, 100 000] when set.</value>
    [Range(1, 100_000)]
    public int? LengthPenaltyWords { get; set; } = DefaultLengthPenaltyWords;

    /// <summary>The default of <see cref="LengthPenaltyWords"/>.</summary>
    internal const int DefaultLengthPenaltyWords = 800;

    /// <summary>Creates a copy of these options.</summary>
    /// <returns>The copy.</returns>
    internal RepetitionPenaltyOptions Clone() => (RepetitionPenaltyOptions)MemberwiseClone();
}
