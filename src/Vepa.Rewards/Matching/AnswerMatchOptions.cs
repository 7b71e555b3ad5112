using System.ComponentModel.DataAnnotations;

namespace Vepa.Rewards;

/// <summary>Settings of <see cref="AnswerMatcher"/>: numeric tolerance, which equivalences count, and the stop-word list.</summary>
/// <remarks>
/// <para>
/// The defaults follow the paper's appendix: lower-case, strip punctuation and stop words, expand the gold answer into its
/// singular/plural variants, read number words as numbers, treat yes/no synonyms as yes/no, and accept a gold answer that
/// appears inside a longer answer unless it is negated or hedged.
/// </para>
/// <para>
/// <see cref="AnswerMatcher"/> copies the options when it is built; changing them afterwards does not affect it.
/// Instances are not thread-safe.
/// </para>
/// </remarks>
public sealed class AnswerMatchOptions
{
    /// <summary>Gets the default stop words, removed from both the answer and the gold answer before comparison.</summary>
    /// <remarks>
    /// Articles (a, an, the), forms of "be" and "do" (is, are, was, were, be, been, being, am, do, does, did), fillers that
    /// readers put around an answer (it, its, this, that, these, those, there, here, i, my, answer, final, think, believe, so).
    /// Negations (no, not, never, none, nor, neither, without) and prepositions (in, on, under, …) are deliberately not stop words:
    /// "not red" must not become "red", and "in the box" must not equal "on the box".
    /// </remarks>
    public static IReadOnlyList<string> DefaultStopWords { get; } =
    [
        "a", "an", "the",
        "is", "are", "was", "were", "be", "been", "being", "am", "do", "does", "did",
        "it", "its", "this", "that", "these", "those", "there", "here", "i", "my",
        "answer", "final", "think", "believe", "so",
    ];

    /// <summary>Gets or sets the absolute tolerance for numeric answers: numbers a and g match when |a − g| ≤ max(absolute, relative · |g|).</summary>
    /// <value>The default is 0. Must be finite and ≥ 0.</value>
    [Range(0.0, double.MaxValue)]
    public double AbsoluteTolerance { get; set; }

    /// <summary>Gets or sets the relative tolerance for numeric answers, as a fraction of the gold value (0.05 = 5 %, ChartQA's "relaxed accuracy").</summary>
    /// <value>The default is 1e-9 (exact up to decimal rounding, so "3.50" = "3.5" and "12.3%" = "0.123"). Must be in [0, 1).</value>
    [Range(0.0, 1.0, MaximumIsExclusive = true)]
    public double RelativeTolerance { get; set; } = AnswerMatchConstants.DefaultRelativeTolerance;

    /// <summary>Gets or sets whether number words count as numbers ("two" = "2", "twenty-one" = "21", "a dozen" = "12").</summary>
    /// <value>The default is <see langword="true"/>.</value>
    /// <remarks>
    /// Supported: zero to nineteen, the tens (twenty to ninety) and their compounds ("twenty one", "twenty-one"),
    /// "hundred" and "thousand" with an optional multiplier and "and" ("one hundred and five" = 105), and "dozen" (= 12, "two dozen" = 24).
    /// Ordinals ("first"), "none", "once" and "twice" are not numbers. A lone "one" ("the red one") reads as 1.
    /// </remarks>
    public bool MatchNumberWords { get; set; } = true;

    /// <summary>Gets or sets whether each gold word also matches its singular and plural forms ("cube" = "cubes", "person" = "people").</summary>
    /// <value>The default is <see langword="true"/>.</value>
    /// <remarks>
    /// Regular forms (-s, -es after s/x/z/ch/sh/o, consonant + y ↔ -ies, f/fe ↔ -ves) and a table of common irregular nouns
    /// (person/people, child/children, man/men, woman/women, mouse/mice, goose/geese, foot/feet, tooth/teeth, ox/oxen, …).
    /// Only words of three or more letters are inflected by rule.
    /// </remarks>
    public bool MatchInflections { get; set; } = true;

    /// <summary>Gets or sets whether a yes/no gold answer is compared by polarity, with synonyms.</summary>
    /// <value>The default is <see langword="true"/>.</value>
    /// <remarks>
    /// Yes: yes, yeah, yep, yup, true, correct, affirmative. No: no, nope, nah, false, incorrect, negative.
    /// The answer's polarity is its first yes/no word among the strong ones (yes, yeah, yep, yup, no, nope, nah) or, when it has none,
    /// its first weak one (true, correct, affirmative, false, incorrect, negative; "not" right before a weak word flips it).
    /// An answer without any of these words matches neither.
    /// </remarks>
    public bool MatchYesNoSynonyms { get; set; } = true;

    /// <summary>Gets or sets whether a gold answer contained in a longer answer matches ("the cube is red" for gold "red").</summary>
    /// <value>The default is <see langword="true"/>.</value>
    /// <remarks>
    /// The gold's words must appear as a contiguous run of the answer's words (after normalization) that crosses no clause break the
    /// gold does not have itself ("red, cube" is not "red cube"; "St. Louis" and "3:45" still match themselves), must not be
    /// preceded within <see cref="NegationWindow"/> words of the same clause by a negation (not, no, never, none, nor, neither,
    /// without, n't), and the clause must not contain "or" ("red or blue" is a hedge, not an answer). When <see langword="false"/>,
    /// the whole normalized answer must equal the gold answer.
    /// </remarks>
    public bool AllowContainment { get; set; } = true;

    /// <summary>Gets or sets how many words before a matched run are searched for a negation.</summary>
    /// <value>The default is 3. Must be in [0, 16]; 0 turns negation detection off.</value>
    [Range(0, AnswerMatchConstants.MaxNegationWindow)]
    public int NegationWindow { get; set; } = AnswerMatchConstants.DefaultNegationWindow;

    /// <summary>Gets or sets the stop words removed before comparison (lower-case single words); <see langword="null"/> uses <see cref="DefaultStopWords"/>.</summary>
    /// <value>The default is <see langword="null"/>.</value>
    /// <remarks>
    /// When the gold answer consists only of stop words (for example "it"), the comparison keeps every word of both texts.
    /// Negation words listed here are ignored: they are never removed.
    /// </remarks>
    public IReadOnlyCollection<string>? StopWords { get; set; }
}
