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
/// <para>Instances are immutable and safe to use from several threads at once.</para>
/// </remarks>
public sealed class AnswerMatcher
{
    private static readonly FrozenSet<string> Negations = AnswerMatchConstants.NegationWords.ToFrozenSet(StringComparer.Ordinal);
    private static readonly FrozenSet<string> Hedges = AnswerMatchConstants.HedgeWords.ToFrozenSet(StringComparer.Ordinal);
    private static readonly FrozenSet<string> StrongYes = AnswerMatchConstants.StrongYes.ToFrozenSet(StringComparer.Ordinal);
    private static readonly FrozenSet<string> StrongNo = AnswerMatchConstants.StrongNo.ToFrozenSet(StringComparer.Ordinal);
    private static readonly FrozenSet<string> WeakYes = AnswerMatchConstants.WeakYes.ToFrozenSet(StringComparer.Ordinal);
    private static readonly FrozenSet<string> WeakNo = AnswerMatchConstants.WeakNo.ToFrozenSet(StringComparer.Ordinal);

    private readonly AnswerTokenizer _tokenizer;
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
            .Select(word => word.Trim().ToLowerInvariant())
            .Where(word => !Negations.Contains(word))
            .ToFrozenSet(StringComparer.Ordinal);
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

        AnswerTokens answerTokens = _tokenizer.Tokenize(answer);
        return choices is null
            ? MatchOpen(answer, answerTokens, goldAnswer)
            : MatchChoice(answer, answerTokens, goldAnswer, choices);
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

    private static bool? Polarity(IReadOnlyList<AnswerToken> tokens)
    {
        bool? weak = null;
        for (int i = 0; i < tokens.Count; i++)
        {
            AnswerToken token = tokens[i];
            if (token.IsNumber)
            {
                continue;
            }

            if (StrongYes.Contains(token.Text))
            {
                return true;
            }

            if (StrongNo.Contains(token.Text))
            {
                return false;
            }

            if (weak is null && (WeakYes.Contains(token.Text) || WeakNo.Contains(token.Text)))
            {
                bool flipped = i > 0 && tokens[i - 1].Text == "not" && tokens[i - 1].Clause == token.Clause;
                weak = WeakYes.Contains(token.Text) != flipped;
            }
        }

        return weak;
    }

    /// <summary>Gets the polarity of a gold answer or option that is a single yes/no word, else <see langword="null"/>.</summary>
    private static bool? PolarityOfGold(AnswerTokens gold)
    {
        IReadOnlyList<AnswerToken> tokens = gold.Content.Count > 0 ? gold.Content : gold.All;
        if (tokens.Count != 1 || tokens[0].IsNumber)
        {
            return null;
        }

        string word = tokens[0].Text;
        return StrongYes.Contains(word) || WeakYes.Contains(word) ? true
            : StrongNo.Contains(word) || WeakNo.Contains(word) ? false
            : null;
    }

    private static bool IsShadowed(Occurrence occurrence, int option, List<Occurrence>[] occurrences)
    {
        for (int j = 0; j < occurrences.Length; j++)
        {
            if (j == option)
            {
                continue;
            }

            foreach (Occurrence other in occurrences[j])
            {
                if (other.Length > occurrence.Length && other.Start <= occurrence.Start && occurrence.End <= other.End)
                {
                    return true;
                }
            }
        }

        return false;
    }

    private AnswerMatch MatchOpen(string answerText, AnswerTokens answer, string goldAnswer)
    {
        AnswerTokens gold = _tokenizer.Tokenize(goldAnswer);
        if (_yesNo && PolarityOfGold(gold) is bool goldYes)
        {
            return Polarity(answer.All) switch
            {
                null => new AnswerMatch(AnswerMatchKind.NoMatch),
                bool yes when yes == goldYes => new AnswerMatch(AnswerMatchKind.YesNo),
                _ => new AnswerMatch(AnswerMatchKind.WrongPolarity),
            };
        }

        bool useAll = gold.Content.Count == 0;
        IReadOnlyList<AnswerToken> goldTokens = useAll ? gold.All : gold.Content;
        IReadOnlyList<AnswerToken> answerTokens = useAll ? answer.All : answer.Content;
        if (goldTokens.Count == 0)
        {
            // The gold is punctuation only ("?"): compare the raw texts.
            return new AnswerMatch(answerText.Trim().Equals(goldAnswer.Trim(), StringComparison.OrdinalIgnoreCase)
                ? AnswerMatchKind.Exact
                : AnswerMatchKind.NoMatch);
        }

        bool negated = false;
        bool hedged = false;
        bool contained = false;
        foreach (Occurrence occurrence in FindOccurrences(answerTokens, new GoldPattern(goldTokens, _inflections)))
        {
            if (occurrence.Start == 0 && occurrence.Length == answerTokens.Count)
            {
                return new AnswerMatch(occurrence.IsLiteral ? AnswerMatchKind.Exact : AnswerMatchKind.Equivalent);
            }

            if (!_containment)
            {
                continue;
            }

            if (occurrence.IsNegated)
            {
                negated = true;
            }
            else if (occurrence.IsHedged)
            {
                hedged = true;
            }
            else
            {
                contained = true;
            }
        }

        return new AnswerMatch(contained ? AnswerMatchKind.Contained
            : negated ? AnswerMatchKind.Negated
            : hedged ? AnswerMatchKind.Hedged
            : AnswerMatchKind.NoMatch);
    }

    private AnswerMatch MatchChoice(string answerText, AnswerTokens answer, string goldAnswer, IReadOnlyList<string> choices)
    {
        AnswerTokens[] options = choices.Select(_tokenizer.Tokenize).ToArray();
        int gold = ResolveGold(goldAnswer, choices, options);

        int label = OptionLabelReader.Read(answerText, choices.Count, out bool ambiguous);
        if (ambiguous)
        {
            return new AnswerMatch(AnswerMatchKind.AmbiguousLabel);
        }

        if (label >= 0)
        {
            return new AnswerMatch(label == gold ? AnswerMatchKind.OptionLabel : AnswerMatchKind.WrongOption, Label(label));
        }

        if (gold < 0)
        {
            return MatchOpen(answerText, answer, goldAnswer);
        }

        if (_yesNo && PolarityOfGold(options[gold]) is not null && Polarity(answer.All) is bool answerYes)
        {
            int selected = Array.FindIndex(options, option => PolarityOfGold(option) == answerYes);
            if (selected >= 0)
            {
                return new AnswerMatch(selected == gold ? AnswerMatchKind.YesNo : AnswerMatchKind.WrongPolarity, Label(selected));
            }
        }

        bool useAll = options.Any(option => option.Content.Count == 0);
        IReadOnlyList<AnswerToken> answerTokens = useAll ? answer.All : answer.Content;
        var occurrences = new List<Occurrence>[options.Length];
        for (int i = 0; i < options.Length; i++)
        {
            IReadOnlyList<AnswerToken> optionTokens = useAll ? options[i].All : options[i].Content;
            occurrences[i] = optionTokens.Count == 0
                ? []
                : FindOccurrences(answerTokens, new GoldPattern(optionTokens, _inflections))
                    .Where(o => _containment || (o.Start == 0 && o.Length == answerTokens.Count))
                    .ToList();
        }

        bool goldClean = false;
        bool goldNegated = false;
        bool goldHedged = false;
        foreach (Occurrence occurrence in occurrences[gold])
        {
            if (IsShadowed(occurrence, gold, occurrences))
            {
                continue;
            }

            if (occurrence.IsNegated)
            {
                goldNegated = true;
            }
            else if (occurrence.IsHedged)
            {
                goldHedged = true;
            }
            else
            {
                goldClean = true;
            }
        }

        var distractors = new List<int>();
        for (int j = 0; j < options.Length; j++)
        {
            if (j != gold && occurrences[j].Any(o => !o.IsNegated && !IsShadowed(o, j, occurrences)))
            {
                distractors.Add(j);
            }
        }

        if (goldClean)
        {
            return distractors.Count == 0
                ? new AnswerMatch(AnswerMatchKind.OptionText, Label(gold))
                : new AnswerMatch(AnswerMatchKind.DistractorPresent);
        }

        if (goldHedged)
        {
            return new AnswerMatch(AnswerMatchKind.Hedged);
        }

        if (distractors.Count > 0)
        {
            return new AnswerMatch(AnswerMatchKind.WrongOption, distractors.Count == 1 ? Label(distractors[0]) : null);
        }

        return new AnswerMatch(goldNegated ? AnswerMatchKind.Negated : AnswerMatchKind.NoMatch);
    }

    /// <summary>Finds the option the gold answer names: by exact text, then by label, then by normalized text; −1 when none.</summary>
    private int ResolveGold(string goldAnswer, IReadOnlyList<string> choices, AnswerTokens[] options)
    {
        string trimmed = goldAnswer.Trim();
        for (int i = 0; i < choices.Count; i++)
        {
            if (choices[i].Trim().Equals(trimmed, StringComparison.OrdinalIgnoreCase))
            {
                return i;
            }
        }

        int label = OptionLabelReader.Read(goldAnswer, choices.Count, out bool ambiguous);
        if (label >= 0 && !ambiguous)
        {
            return label;
        }

        return ResolveGoldByTokens(goldAnswer, options);
    }

    private int ResolveGoldByTokens(string goldAnswer, AnswerTokens[] options)
    {
        AnswerTokens gold = _tokenizer.Tokenize(goldAnswer);
        for (int i = 0; i < options.Length; i++)
        {
            bool useAll = gold.Content.Count == 0 || options[i].Content.Count == 0;
            IReadOnlyList<AnswerToken> g = useAll ? gold.All : gold.Content;
            IReadOnlyList<AnswerToken> o = useAll ? options[i].All : options[i].Content;
            if (g.Count > 0 && g.Count == o.Count && g.Zip(o).All(pair => pair.First.Text == pair.Second.Text))
            {
                return i;
            }
        }

        return -1;
    }

    private List<Occurrence> FindOccurrences(IReadOnlyList<AnswerToken> answer, GoldPattern pattern)
    {
        var found = new List<Occurrence>();
        int m = pattern.Tokens.Length;
        for (int start = 0; start + m <= answer.Count; start++)
        {
            bool literal = true;
            bool matched = true;
            for (int k = 0; k < m && matched; k++)
            {
                // The run may cross a clause break only where the gold has one ("St. Louis", "3:45"), never elsewhere ("red, cube").
                if (k > 0 && answer[start + k].Clause != answer[start + k - 1].Clause && pattern.Tokens[k].Clause == pattern.Tokens[k - 1].Clause)
                {
                    matched = false;
                    break;
                }

                switch (Compare(pattern, k, answer[start + k]))
                {
                    case TokenMatch.None:
                        matched = false;
                        break;
                    case TokenMatch.Variant:
                        literal = false;
                        break;
                    default:
                        break;
                }
            }

            if (matched)
            {
                found.Add(new Occurrence(start, m, literal, IsNegated(answer, start), IsHedged(answer, start, m)));
            }
        }

        return found;
    }

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
