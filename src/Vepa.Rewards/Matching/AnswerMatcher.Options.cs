namespace Vepa.Rewards;

/// <content>The multiple-choice concern of <see cref="AnswerMatcher"/>: option labels, option texts with the exclusivity rule, and labels whose content names another option.</content>
public sealed partial class AnswerMatcher
{
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
}
