namespace Vepa.Rewards;

/// <content>The yes/no concern of <see cref="AnswerMatcher"/>: the polarity of an answer and of a gold answer or option.</content>
public sealed partial class AnswerMatcher
{
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
}
