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
public sealed class AnswerMatcher
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
    }.ToFrozenSet(StringComparer.Ordinal);

    private static readonly FrozenSet<string> Fillers = new[] { "yes", "no", "yeah", "well", "ok", "okay", "so", "hmm", "answer", "final" }.ToFrozenSet(StringComparer.Ordinal);
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

    /// <summary>Gets the yes/no polarity of an answer: idioms first ("I don't think so", "of course"), then yes and no words (both make it
    /// ambiguous), then weak words (true, correct, …; "not" before one flips it), then a bare negation ("it is not"), then "there is …".</summary>
    private static bool? Polarity(string answerText, IReadOnlyList<AnswerToken> tokens)
    {
        string normalized = AnswerPhrases.Normalize(answerText);
        if (AnswerPhrases.IdiomPolarity(normalized) is bool idiom)
        {
            return idiom;
        }

        bool sawYes = false;
        bool sawNo = false;
        bool? weak = null;
        for (int i = 0; i < tokens.Count; i++)
        {
            AnswerToken token = tokens[i];
            if (token.IsNumber)
            {
                continue;
            }

            sawYes |= StrongYes.Contains(token.Text);
            sawNo |= StrongNo.Contains(token.Text);
            if (weak is null && (WeakYes.Contains(token.Text) || WeakNo.Contains(token.Text)))
            {
                bool flipped = i > 0 && tokens[i - 1].Text == "not" && tokens[i - 1].Clause == token.Clause;
                weak = WeakYes.Contains(token.Text) != flipped;
            }
        }

        if (sawYes || sawNo)
        {
            return sawYes && sawNo ? null : sawYes;
        }

        if (weak is bool w)
        {
            return w;
        }

        if (AnswerPhrases.HasNegation(normalized))
        {
            return false;
        }

        return AnswerPhrases.IsExistential(normalized) ? true : null;
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

    private AnswerMatch MatchOpen(string answerText, AnswerTokens answer, string goldAnswer, string polarityText)
    {
        AnswerTokens gold = _tokenizer.Tokenize(goldAnswer);
        if (_yesNo && PolarityOfGold(gold) is bool goldYes)
        {
            return Polarity(polarityText, _tokenizer.Tokenize(polarityText).All) switch
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

        // A count of zero: "none", "no dogs", "nothing" answer "0".
        if (goldTokens is [{ Number: 0, IsPercent: false }] && !answer.All.Any(t => t.IsNumber) && answer.All.Any(t => ZeroWords.Contains(t.Text)))
        {
            return new AnswerMatch(AnswerMatchKind.Equivalent);
        }

        var pattern = new GoldPattern(goldTokens, _inflections);
        bool numericGold = goldTokens.Any(t => t.IsNumber);
        bool compoundable = !numericGold && !AnswerCandidates.IsColourGold(goldTokens);
        bool compound = false;
        bool negated = false;
        bool hedged = false;
        bool listed = false;
        bool contained = false;
        foreach (Occurrence occurrence in FindOccurrences(answerTokens, pattern))
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
            else if (compoundable && AnswerCandidates.IsCompoundModifier(answer.All, answerTokens[occurrence.End - 1].Position + 1, _stopWords))
            {
                compound = true;
            }
            else if (IsListed(answer.All, answerTokens, occurrence, pattern, numericGold))
            {
                listed = true;
            }
            else
            {
                contained = true;
            }
        }

        // The gold is there, but so is another candidate of its kind ("red (blue in the shade)", "2 3 4", "3 of 5").
        if (contained && AnswerCandidates.NamesAnotherCandidate(answer.All, goldTokens, (a, g) => Compare(new GoldPattern([g], false), 0, a) != TokenMatch.None, i => IsNegated(answer.All, i)))
        {
            return new AnswerMatch(AnswerMatchKind.SeveralCandidates);
        }

        if (!contained && MatchesAsUnorderedList(answer.All, gold.All))
        {
            return new AnswerMatch(AnswerMatchKind.Equivalent);
        }

        return new AnswerMatch(contained ? AnswerMatchKind.Contained
            : compound ? AnswerMatchKind.Compound
            : negated ? AnswerMatchKind.Negated
            : hedged ? AnswerMatchKind.Hedged
            : listed ? AnswerMatchKind.ListOrRange
            : AnswerMatchKind.NoMatch);
    }

    private AnswerMatch MatchChoice(string answerText, AnswerTokens answer, string goldAnswer, IReadOnlyList<string> choices, string polarityText)
    {
        AnswerTokens[] options = choices.Select(_tokenizer.Tokenize).ToArray();
        int gold = ResolveGold(goldAnswer, choices, options);

        if (OptionLabelReader.CountListedLabels(answerText, choices.Count) >= 2)
        {
            // "A. red B. blue C. green", "A or B": repeating the options is no answer.
            return new AnswerMatch(AnswerMatchKind.AmbiguousLabel);
        }

        int label = OptionLabelReader.Read(answerText, choices.Count, out bool ambiguous);
        if (ambiguous)
        {
            return new AnswerMatch(AnswerMatchKind.AmbiguousLabel);
        }

        if (label >= 0)
        {
            // The label's stated content, or an explanation after it, must not name another option ("B. red" with A = red, "C, because B …").
            if (NamesAnotherOption(answerText, answer, label, options))
            {
                return new AnswerMatch(AnswerMatchKind.SeveralCandidates, Label(label));
            }

            return new AnswerMatch(label == gold ? AnswerMatchKind.OptionLabel : AnswerMatchKind.WrongOption, Label(label));
        }

        if (gold < 0)
        {
            return MatchOpen(answerText, answer, goldAnswer, polarityText);
        }

        if (_yesNo && PolarityOfGold(options[gold]) is not null && Polarity(polarityText, _tokenizer.Tokenize(polarityText).All) is bool answerYes)
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

    /// <summary>Gets whether an answer with the label of option <paramref name="label"/> also names another option: its text (not negated,
    /// not inside the chosen option's own text) or its label as a word of its own.</summary>
    private bool NamesAnotherOption(string answerText, AnswerTokens answer, int label, AnswerTokens[] options)
    {
        if (OptionLabelReader.MentionsOtherLabel(answerText, label, options.Length))
        {
            return true;
        }

        IReadOnlyList<AnswerToken> tokens = answer.Content;
        List<Occurrence> own = options[label].Content.Count == 0 ? [] : FindOccurrences(tokens, new GoldPattern(options[label].Content, _inflections));
        for (int j = 0; j < options.Length; j++)
        {
            if (j == label || options[j].Content.Count == 0)
            {
                continue;
            }

            foreach (Occurrence other in FindOccurrences(tokens, new GoldPattern(options[j].Content, _inflections)))
            {
                bool insideOwn = own.Any(o => o.Start <= other.Start && other.End <= o.End);
                if (!other.IsNegated && !insideOwn && !(options[label].Content.Count > options[j].Content.Count && own.Count > 0 && IsShadowedBy(other, own)))
                {
                    return true;
                }
            }
        }

        return false;
    }

    private static bool IsShadowedBy(Occurrence occurrence, List<Occurrence> longer) => longer.Any(o => o.Start <= occurrence.Start && occurrence.End <= o.End);

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

        if (found.Count == 0)
        {
            FindCompactOccurrences(answer, pattern, found);
        }

        return found;
    }

    /// <summary>Finds the gold written as one word or as several ("hotdog" = "hot dog" = "hot-dog", "tshirt" = "t-shirt").</summary>
    private void FindCompactOccurrences(IReadOnlyList<AnswerToken> answer, GoldPattern pattern, List<Occurrence> found)
    {
        if (pattern.Tokens.Any(t => t.IsNumber))
        {
            return;
        }

        string compact = string.Concat(pattern.Tokens.Select(t => t.Text));
        HashSet<string> variants = _inflections ? Inflections.Variants(compact) : new HashSet<string>(StringComparer.Ordinal) { compact };
        int longest = variants.Max(v => v.Length);
        for (int start = 0; start < answer.Count; start++)
        {
            string joined = string.Empty;
            for (int k = 0; start + k < answer.Count; k++)
            {
                AnswerToken token = answer[start + k];
                if (token.IsNumber || (k > 0 && token.Clause != answer[start].Clause))
                {
                    break;
                }

                joined += token.Text;
                if (joined.Length > longest)
                {
                    break;
                }

                if ((k + 1 != pattern.Tokens.Length || k > 0) && variants.Contains(joined))
                {
                    found.Add(new Occurrence(start, k + 1, false, IsNegated(answer, start), IsHedged(answer, start, k + 1)));
                    break;
                }
            }
        }
    }

    /// <summary>Gets whether a gold occurrence is one item of a list or one end of a range: a separator or a conjunction joins it to a short
    /// item that is not the gold again, not negated, and not a clause ("red and blue", "2-3", "red, the cube is blue" is not a list).
    /// A number preceded by a qualifier ("more than 2", "at least 3") counts too.</summary>
    private bool IsListed(IReadOnlyList<AnswerToken> all, IReadOnlyList<AnswerToken> sequence, Occurrence occurrence, GoldPattern pattern, bool numericGold)
    {
        int s = sequence[occurrence.Start].Position;
        int e = sequence[occurrence.End - 1].Position + 1;
        if (numericGold && s > 0 && !all[s - 1].IsNumber && NumberQualifiers.Contains(all[s - 1].Text))
        {
            return true;
        }

        if (e < all.Count)
        {
            int itemStart = -1;
            bool range = false;
            if (all[e].Separator != '\0')
            {
                itemStart = all[e].IsNumber || !Coordinators.Contains(all[e].Text) ? e : e + 1;
                range = IsDash(all[e].Separator);
            }
            else if (!all[e].IsNumber && Coordinators.Contains(all[e].Text))
            {
                itemStart = e + 1;
                range = RangeWords.Contains(all[e].Text);
            }

            if (itemStart >= 0 && itemStart < all.Count && IsOtherItem(ItemForward(all, itemStart), pattern, range, numericGold, forward: true))
            {
                return true;
            }
        }

        if (s > 0)
        {
            int itemEnd = -1;
            bool range = false;
            if (all[s].Separator != '\0')
            {
                itemEnd = s - 1;
                range = IsDash(all[s].Separator);
            }
            else if (!all[s - 1].IsNumber && Coordinators.Contains(all[s - 1].Text))
            {
                itemEnd = s - 2;
                range = RangeWords.Contains(all[s - 1].Text);
            }

            if (itemEnd >= 0 && IsOtherItem(ItemBackward(all, itemEnd), pattern, range, numericGold, forward: false))
            {
                return true;
            }
        }

        return false;
    }

    private static bool IsDash(char separator) => separator is '-' or '–' or '—' or '~';

    private static List<AnswerToken> ItemForward(IReadOnlyList<AnswerToken> all, int start)
    {
        var item = new List<AnswerToken> { all[start] };
        for (int i = start + 1; i < all.Count && all[i].Clause == all[start].Clause && (all[i].Separator == '\0' || IsDash(all[i].Separator)) && (all[i].IsNumber || !Coordinators.Contains(all[i].Text)); i++)
        {
            item.Add(all[i]);
        }

        return item;
    }

    private static List<AnswerToken> ItemBackward(IReadOnlyList<AnswerToken> all, int end)
    {
        var item = new List<AnswerToken> { all[end] };
        for (int i = end - 1; i >= 0 && all[i].Clause == all[end].Clause && (all[i + 1].Separator == '\0' || IsDash(all[i + 1].Separator)) && (all[i].IsNumber || !Coordinators.Contains(all[i].Text)); i--)
        {
            item.Insert(0, all[i]);
        }

        return item;
    }

    private bool IsOtherItem(List<AnswerToken> item, GoldPattern pattern, bool range, bool numericGold, bool forward)
    {
        List<AnswerToken> words = item.Where(t => t.IsNumber || !Articles.Contains(t.Text)).ToList();
        if (words.Count == 0 || words.Count > 3)
        {
            return false;
        }

        // A range joins numbers: the number next to "to" or the dash ("2 to 3", "from 2 to 5").
        if (range && !(numericGold && (forward ? words[0] : words[^1]).IsNumber))
        {
            return false;
        }

        if (words.Any(t => !t.IsNumber && (ClauseWords.Contains(t.Text) || Negations.Contains(t.Text))) || words.All(t => !t.IsNumber && Fillers.Contains(t.Text)))
        {
            return false;
        }

        // The gold again ("red, red") is not another item.
        if (words.Count == pattern.Tokens.Length && words.Select((t, k) => Compare(pattern, k, t)).All(m => m != TokenMatch.None))
        {
            return false;
        }

        return true;
    }

    /// <summary>Gets whether a gold that is a list ("black and white") and the answer list the same items in any order ("white and black").</summary>
    private bool MatchesAsUnorderedList(IReadOnlyList<AnswerToken> answer, IReadOnlyList<AnswerToken> gold)
    {
        List<List<AnswerToken>> goldItems = SplitItems(gold);
        if (goldItems.Count < 2)
        {
            return false;
        }

        List<List<AnswerToken>> answerItems = SplitItems(answer);
        if (answerItems.Count != goldItems.Count)
        {
            return false;
        }

        var used = new bool[answerItems.Count];
        foreach (List<AnswerToken> goldItem in goldItems)
        {
            var itemPattern = new GoldPattern(goldItem, _inflections);
            int found = -1;
            for (int a = 0; a < answerItems.Count && found < 0; a++)
            {
                if (!used[a] && answerItems[a].Count == goldItem.Count && answerItems[a].Select((t, k) => Compare(itemPattern, k, t)).All(m => m != TokenMatch.None))
                {
                    found = a;
                }
            }

            if (found < 0)
            {
                return false;
            }

            used[found] = true;
        }

        return true;
    }

    /// <summary>Splits tokens into "and"-list items at separators and at "and", "plus"; "or" makes no list of this kind.</summary>
    private static List<List<AnswerToken>> SplitItems(IReadOnlyList<AnswerToken> tokens)
    {
        var items = new List<List<AnswerToken>>();
        var current = new List<AnswerToken>();
        foreach (AnswerToken token in tokens)
        {
            if (!token.IsNumber && token.Text is "or" or "nor")
            {
                return [];
            }

            bool isJoiner = !token.IsNumber && token.Text is "and" or "plus";
            if ((token.Separator != '\0' && !IsDash(token.Separator)) || isJoiner)
            {
                if (current.Count > 0)
                {
                    items.Add(current);
                }

                current = [];
            }

            if (!isJoiner && (token.IsNumber || !Articles.Contains(token.Text)))
            {
                current.Add(token);
            }
        }

        if (current.Count > 0)
        {
            items.Add(current);
        }

        return items;
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
