namespace Vepa.Rewards;

/// <summary>One normalized token of an answer: a lower-case word, or a number with its value.</summary>
/// <param name="Text">The lower-case word, or the number in invariant round-trip form ("2", "3.5", "-1000").</param>
/// <param name="Number">The value when the token is a number (digits or number words), else <see langword="null"/>.</param>
/// <param name="IsPercent">Whether the number carried a percent sign or the word "percent".</param>
/// <param name="Clause">The index of the clause the token belongs to; clauses are split at , ; : . ! ? line breaks and "but".</param>
/// <param name="Separator">The separator (<c>, ; / &amp; + |</c>, or a dash or tilde, which joins only numbers into a range) written between
/// the previous token and this one, or <c>'\0'</c>.</param>
/// <param name="Position">The index of the token in the list of every token of its text.</param>
internal readonly record struct AnswerToken(string Text, double? Number, bool IsPercent, int Clause, char Separator = '\0', int Position = 0)
{
    /// <summary>Gets whether the token is a number.</summary>
    public bool IsNumber => Number.HasValue;
}
