using System.Collections.Frozen;
using System.Globalization;

namespace Vepa.Rewards;

/// <summary>Decides whether a blind reader's answer matches the gold answer, for open questions and multiple choice (the paper's appendix rules).</summary>
/// <remarks>
/// <para><b>Normalization.</b> Both texts are lower-cased; punctuation, markdown and stop words (<see cref="AnswerMatchOptions.StopWords"/>) are
/// removed; contractions are split ("isn't" → "not", "cube's" → "cube"); digits ("3.50", "1,000", "-2", "50%") and number words
/// ("two", "twenty-one", "a dozen") become numbers. Clauses are split at , ; : . ! ? line breaks and "but".</para>
/// <para><b>Open questions.</b> A yes/no gold answer is compared by polarity (<see cref="AnswerMatchOptions.MatchYesNoSynonyms"/>).
/// Otherwise the gold's words, each allowed in its singular/plural forms and numbers within the tolerance, must equal the whole answer
/// (<see cref="AnswerMatchKind.Exact"/>, <see cref="AnswerMatchKind.Equivalent"/>) or, with <see cref="AnswerMatchOptions.AllowContainment"/>,
/// appear as a contiguous run inside it that is neither negated ("not red") nor hedged ("red or blue") (<see cref="AnswerMatchKind.Contained"/>);
/// a run never crosses a clause break that the gold does not have.
/// A longer answer that refines the gold ("dark red" for gold "red") matches an open question.</para>
/// <para><b>Multiple choice.</b> The gold may be a label ("B", "(B)", "Option B") or an option's text; a gold that names no option is
/// matched as an open question. An explicit option label in the answer decides first ("B", "(B)", "B.", "Option B", "answer: b",
/// "The answer is (B)", "**B**"; a letter inside a word or the article "a" followed by a word is not a label; two different labels
/// make the answer <see cref="AnswerMatchKind.AmbiguousLabel"/>). Without a label, option texts are searched in the answer with the
/// exclusivity rule: correct iff the right option's text is present (not negated, not hedged) and no distractor's text is present
/// (not negated). An occurrence that lies inside an occurrence of a longer option does not count on its own: with options
/// "red" and "dark red", the answer "dark red" selects "dark red" only (its inner "red" is shadowed), and the answer "red" selects "red".
/// Yes/no options are compared by polarity as for open questions.</para>
/// <para><b>Rules against farming</b> (see docs/rewards.md). Non-answers and hedges ("no idea", "can't tell", "not sure", "maybe",
/// "probably", "yes and no", "none of the above") match nothing (<see cref="AnswerMatchKind.NonAnswer"/>). A gold occurrence that is one
/// item of a list ("red and blue", "red, blue, green", "red/blue", "red and/or blue") or one end of a range ("2-3", "2 to 3", "between 2
/// and 3"), or a number after a comparative ("more than 2", "at least 3"), does not count (<see cref="AnswerMatchKind.ListOrRange"/>);
/// a gold that is itself a list ("black and white") matches its items in any order. An answer that lists two or more option labels
/// ("A. red B. blue C. green", "A or B") is <see cref="AnswerMatchKind.AmbiguousLabel"/>. Unit words after a number take one spelling
/// ("5 centimeters" = "5 cm"), compounds match with or without space or hyphen ("hotdog" = "hot dog"), idioms carry a polarity
/// ("I don't think so" = no, "of course" = yes), and a count of 0 matches "none".</para>
/// <para>Instances are immutable and safe to use from several threads at once.</para>
/// </remarks>
public sealed partial class AnswerMatcher
{
    private static readonly FrozenSet<string> Negations = AnswerMatchConstants.NegationWords.ToFrozenSet(StringComparer.Ordinal);
    private static readonly FrozenSet<string> Hedges = AnswerMatchConstants.HedgeWords.ToFrozenSet(StringComparer.Ordinal);
    private static readonly FrozenSet<string> StrongYes = AnswerMatchConstants.StrongYes.ToFrozenSet(StringComparer.Ordinal);
    private static readonly FrozenSet<string> StrongNo = AnswerMatchConstants.StrongNo.ToFrozenSet(StringComparer.Ordinal);
    private static readonly FrozenSet<string> WeakYes = AnswerMatchConstants.WeakYes.ToFrozenSet(StringComparer.Ordinal);
    private static readonly FrozenSet<string> WeakNo = AnswerMatchConstants.WeakNo.ToFrozenSet(StringComparer.Ordinal);
    private static readonly FrozenSet<string> Coordinators = new[] { "and", "or", "nor", "plus", "versus", "vs", "to", "through", "thru" }.ToFrozenSet(StringComparer.Ordinal);
    private static readonly FrozenSet<string> RangeWords = new[] { "to", "through", "thru" }.ToFrozenSet(StringComparer.Ordinal);
    private static readonly FrozenSet<string> Articles = new[] { "a", "an", "the" }.ToFrozenSet(StringComparer.Ordinal);
    private static readonly FrozenSet<string> ClauseWords = new[]
    {
        "is", "are", "was", "were", "be", "am", "it", "its", "there", "i", "think", "believe", "has", "have", "does", "do", "did", "looks", "look",
        "seems", "seem", "this", "that", "he", "she", "they", "we", "you", "can", "could", "would", "should", "will",
        "because", "since", "due", "given", "thanks", "considering", "as",
    }.ToFrozenSet(StringComparer.Ordinal);

    private static readonly FrozenSet<string> Fillers = new[]
    {
        "yes", "no", "yeah", "well", "ok", "okay", "so", "hmm", "answer", "final", "sure", "indeed", "absolutely", "for", "certain",
    }.ToFrozenSet(StringComparer.Ordinal);
    private static readonly FrozenSet<string> NumberQualifiers = new[]
    {
        "than", "least", "most", "over", "under", "above", "below", "up", "beyond", "exceeding",
    }.ToFrozenSet(StringComparer.Ordinal);

    private static readonly FrozenSet<string> ZeroWords = new[] { "none", "no", "nothing", "nobody", "zero" }.ToFrozenSet(StringComparer.Ordinal);

    private readonly AnswerTokenizer _tokenizer;
    private readonly FrozenSet<string> _stopWords;
    private readonly double _absoluteTolerance;
    private readonly double _relativeTolerance;
    private readonly bool _inflections;
    private readonly bool _yesNo;
    private readonly bool _containment;
    private readonly int _negationWindow;

    /// <summary>Initializes a new instance of the <see cref="AnswerMatcher"/> class.</summary>
    /// <param name="options">The settings; <see langword="null"/> uses the defaults. They are copied.</param>
    /// <exception cref="ArgumentException"><paramref name="options"/> is invalid; the message lists every problem.</exception>
    public AnswerMatcher(AnswerMatchOptions? options = null)
    {
        options ??= new AnswerMatchOptions();
        AnswerMatchOptionsValidator.ThrowIfInvalid(options, nameof(options));
        _absoluteTolerance = options.AbsoluteTolerance;
        _relativeTolerance = options.RelativeTolerance;
        _inflections = options.MatchInflections;
        _yesNo = options.MatchYesNoSynonyms;
        _containment = options.AllowContainment;
        _negationWindow = options.NegationWindow;
        FrozenSet<string> stopWords = (options.StopWords ?? AnswerMatchOptions.DefaultStopWords)
            .Select(word => AnswerConventions.Normalize(word).Trim().ToLowerInvariant())
            .Where(word => !Negations.Contains(word))
            .ToFrozenSet(StringComparer.Ordinal);
        _stopWords = stopWords;
        _tokenizer = new AnswerTokenizer(stopWords, options.MatchNumberWords);
    }

    /// <summary>Compares <paramref name="answer"/> with <paramref name="goldAnswer"/> and says how they matched, or why not.</summary>
    /// <param name="answer">The reader's answer; empty is allowed (never a match).</param>
    /// <param name="goldAnswer">The reference answer; for multiple choice an option label or an option's text.</param>
    /// <param name="choices">The options of a multiple-choice item, labelled A, B, C, … in order; <see langword="null"/> for an open question.</param>
    /// <returns>The outcome.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="answer"/> or <paramref name="goldAnswer"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="goldAnswer"/> is empty or white space, or <paramref name="choices"/> has fewer than 2 or more than 26 entries, or an empty entry.</exception>
    public AnswerMatch Match(string answer, string goldAnswer, IReadOnlyList<string>? choices = null)
    {
        ArgumentNullException.ThrowIfNull(answer);
        ArgumentException.ThrowIfNullOrWhiteSpace(goldAnswer);
        if (choices is not null)
        {
            ValidateChoices(choices);
        }

        if (string.IsNullOrWhiteSpace(answer))
        {
            return new AnswerMatch(AnswerMatchKind.EmptyAnswer);
        }

        // Conventions first: full-width forms, diacritics, British spellings and ordinals take one form on every side.
        answer = AnswerConventions.Normalize(answer);
        goldAnswer = AnswerConventions.Normalize(goldAnswer);
        if (choices is not null)
        {
            choices = [.. choices.Select(AnswerConventions.Normalize)];
        }

        if (AnswerPhrases.IsNonAnswer(AnswerPhrases.Normalize(answer)) && !IsNonAnswerGold(goldAnswer, choices))
        {
            return new AnswerMatch(AnswerMatchKind.NonAnswer);
        }

        // A restated option list followed by the chosen label is that label ("A. red B. blue C. green. Answer: B").
        if (choices is not null && OptionLabelReader.FinalChoice(answer, choices.Count) is string chosen)
        {
            answer = chosen;
        }

        // Several lines that say different things name several candidates.
        string[] lines = [.. answer.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0)];
        if (lines.Length > 1 && lines.Select(l => string.Join(' ', _tokenizer.Tokenize(l).Content.Select(t => t.Text))).Distinct(StringComparer.Ordinal).Count() > 1)
        {
            return new AnswerMatch(AnswerMatchKind.SeveralCandidates);
        }

        // A hedge around one committed answer ("Blue, most likely.") does not decide; an answer that is only a hedge ("maybe") is none.
        string polarityText = answer;
        if (AnswerConventions.HasHedge(answer))
        {
            string unhedged = AnswerConventions.RemoveHedges(answer);
            if (_tokenizer.Tokenize(unhedged).All.Count == 0 && AnswerPhrases.IdiomPolarity(AnswerPhrases.Normalize(answer)) is null)
            {
                return new AnswerMatch(AnswerMatchKind.NonAnswer);
            }

            answer = _tokenizer.Tokenize(unhedged).All.Count == 0 ? answer : AnswerConventions.TidyAfterHedges(unhedged);
        }

        AnswerTokens answerTokens = _tokenizer.Tokenize(answer);
        return choices is null
            ? MatchOpen(answer, answerTokens, goldAnswer, polarityText)
            : MatchChoice(answer, answerTokens, goldAnswer, choices, polarityText);
    }

    /// <summary>Says whether <paramref name="answer"/> matches <paramref name="goldAnswer"/>; see <see cref="Match"/>.</summary>
    /// <param name="answer">The reader's answer; empty is allowed (never a match).</param>
    /// <param name="goldAnswer">The reference answer; for multiple choice an option label or an option's text.</param>
    /// <param name="choices">The options of a multiple-choice item, labelled A, B, C, … in order; <see langword="null"/> for an open question.</param>
    /// <returns><see langword="true"/> when the answer counts as correct.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="answer"/> or <paramref name="goldAnswer"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="goldAnswer"/> is empty or white space, or <paramref name="choices"/> has fewer than 2 or more than 26 entries, or an empty entry.</exception>
    public bool IsMatch(string answer, string goldAnswer, IReadOnlyList<string>? choices = null) => Match(answer, goldAnswer, choices).IsMatch;

    private static void ValidateChoices(IReadOnlyList<string> choices)
    {
        if (choices.Count is < 2 or > 26)
        {
            throw new ArgumentException(
                string.Create(CultureInfo.InvariantCulture, $"A multiple-choice item needs 2 to 26 choices (labels A-Z); got {choices.Count}."),
                nameof(choices));
        }

        for (int i = 0; i < choices.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(choices[i]))
            {
                throw new ArgumentException(
                    string.Create(CultureInfo.InvariantCulture, $"Choice {RewardRequest.OptionLabel(i)} (index {i}) is null or empty."),
                    nameof(choices));
            }
        }
    }

    private static string Label(int index) => RewardRequest.OptionLabel(index);

    /// <summary>A gold answer (or an option) that is itself a non-answer ("unknown", "cannot be determined") turns the non-answer rule off.</summary>
    private static bool IsNonAnswerGold(string goldAnswer, IReadOnlyList<string>? choices)
        => AnswerPhrases.IsNonAnswer(AnswerPhrases.Normalize(goldAnswer))
           || (choices is not null && choices.Any(choice => AnswerPhrases.IsNonAnswer(AnswerPhrases.Normalize(choice))));

    private TokenMatch Compare(GoldPattern pattern, int k, AnswerToken answer)
    {
        AnswerToken gold = pattern.Tokens[k];
        if (gold.IsNumber || answer.IsNumber)
        {
            if (!(gold.IsNumber && answer.IsNumber))
            {
                return TokenMatch.None;
            }

            if (gold.Number == answer.Number && gold.IsPercent == answer.IsPercent)
            {
                return TokenMatch.Literal;
            }

            return NumbersAgree(answer, gold) ? TokenMatch.Variant : TokenMatch.None;
        }

        if (gold.Text == answer.Text)
        {
            return TokenMatch.Literal;
        }

        return pattern.Variants[k]?.Contains(answer.Text) == true ? TokenMatch.Variant : TokenMatch.None;
    }

    /// <summary>Numbers agree within the tolerance; "50%" also agrees with 0.5 (a percentage against a plain number is compared both ways).</summary>
    private bool NumbersAgree(AnswerToken answer, AnswerToken gold)
    {
        double a = answer.Number!.Value;
        double g = gold.Number!.Value;
        if (Within(a, g))
        {
            return true;
        }

        if (answer.IsPercent && !gold.IsPercent)
        {
            return Within(a / 100, g);
        }

        if (gold.IsPercent && !answer.IsPercent)
        {
            return Within(a, g / 100);
        }

        return false;
    }

    private bool Within(double answer, double gold) => Math.Abs(answer - gold) <= Math.Max(_absoluteTolerance, _relativeTolerance * Math.Abs(gold));

    private bool IsNegated(IReadOnlyList<AnswerToken> answer, int start)
    {
        int clause = answer[start].Clause;
        for (int k = start - 1; k >= 0 && k >= start - _negationWindow; k--)
        {
            if (answer[k].Clause != clause)
            {
                break;
            }

            if (!answer[k].IsNumber && Negations.Contains(answer[k].Text))
            {
                return true;
            }
        }

        return false;
    }

    private static bool IsHedged(IReadOnlyList<AnswerToken> answer, int start, int length)
    {
        int firstClause = answer[start].Clause;
        int lastClause = answer[start + length - 1].Clause;
        for (int k = 0; k < answer.Count; k++)
        {
            if ((k < start || k >= start + length) && answer[k].Clause >= firstClause && answer[k].Clause <= lastClause
                && !answer[k].IsNumber && Hedges.Contains(answer[k].Text))
            {
                return true;
            }
        }

        return false;
    }

    private enum TokenMatch
    {
        None,
        Literal,
        Variant,
    }

    private readonly record struct Occurrence(int Start, int Length, bool IsLiteral, bool IsNegated, bool IsHedged)
    {
        public int End => Start + Length;
    }

    /// <summary>The tokens of a gold answer (or option) and, per word, its singular/plural variants.</summary>
    private sealed class GoldPattern
    {
        public GoldPattern(IReadOnlyList<AnswerToken> tokens, bool inflections)
        {
            Tokens = [.. tokens];
            Variants = Tokens.Select(t => inflections && !t.IsNumber ? Inflections.Variants(t.Text) : null).ToArray();
        }

        public AnswerToken[] Tokens { get; }

        public HashSet<string>?[] Variants { get; }
    }
}
