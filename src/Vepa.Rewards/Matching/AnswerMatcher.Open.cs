namespace Vepa.Rewards;

/// <content>The open-answer concern of <see cref="AnswerMatcher"/>: gold occurrences, lists and ranges, compounds, other candidates and order-free lists.</content>
public sealed partial class AnswerMatcher
{
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

        // Fillers and adverbs ("red, definitely", "red, for sure") qualify the answer; they are not another item.
        if (words.Any(t => !t.IsNumber && (ClauseWords.Contains(t.Text) || Negations.Contains(t.Text)))
            || words.All(t => !t.IsNumber && (Fillers.Contains(t.Text) || (t.Text.Length > 4 && t.Text.EndsWith("ly", StringComparison.Ordinal)))))
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
}
