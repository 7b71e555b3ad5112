namespace Vepa;

/// <summary>One rollout to score: the question, its gold answer, optional choices, and the evidence the policy wrote.</summary>
/// <remarks>
/// The constructor validates its arguments so that a bad item is rejected where it is built, not deep inside a reward call.
/// Empty <see cref="Evidence"/> is legal (a policy may emit nothing); a sufficiency reward scores it as not sufficient.
/// </remarks>
public sealed record RewardRequest
{
    /// <summary>Initializes a new instance of the <see cref="RewardRequest"/> class.</summary>
    /// <param name="question">The question the evidence must make answerable. Must not be empty or white space.</param>
    /// <param name="goldAnswer">The reference answer. For multiple choice, either an option label (<c>"B"</c>) or the option's text.</param>
    /// <param name="evidence">The generated evidence text. May be empty.</param>
    /// <param name="choices">The answer options of a multiple-choice item, labelled A, B, C, … in order; <see langword="null"/> for open questions.</param>
    /// <exception cref="ArgumentNullException"><paramref name="question"/>, <paramref name="goldAnswer"/> or <paramref name="evidence"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">
    /// <paramref name="question"/> or <paramref name="goldAnswer"/> is empty; <paramref name="choices"/> has fewer than two entries,
    /// an empty entry or duplicates; or <paramref name="goldAnswer"/> is an option label outside <paramref name="choices"/>.
    /// </exception>
    public RewardRequest(string question, string goldAnswer, string evidence, IReadOnlyList<string>? choices = null)
    {
        ArgumentNullException.ThrowIfNull(question);
        ArgumentNullException.ThrowIfNull(goldAnswer);
        ArgumentNullException.ThrowIfNull(evidence);
        if (string.IsNullOrWhiteSpace(question))
        {
            throw new ArgumentException($"The question must contain text; got \"{question}\" (empty or white space only).", nameof(question));
        }

        if (string.IsNullOrWhiteSpace(goldAnswer))
        {
            throw new ArgumentException($"The gold answer must contain text; got \"{goldAnswer}\" (empty or white space only).", nameof(goldAnswer));
        }

        if (choices is not null)
        {
            ValidateChoices(choices, goldAnswer);
        }

        Question = question;
        GoldAnswer = goldAnswer;
        Evidence = evidence;
        Choices = choices;
    }

    /// <summary>Gets the question.</summary>
    public string Question { get; }

    /// <summary>Gets the gold (reference) answer.</summary>
    public string GoldAnswer { get; }

    /// <summary>Gets the generated evidence text, possibly empty.</summary>
    public string Evidence { get; }

    /// <summary>Gets the options of a multiple-choice item (labelled A, B, C, … in order), or <see langword="null"/>.</summary>
    public IReadOnlyList<string>? Choices { get; }

    /// <summary>Gets an identifier the caller uses to correlate results (for example "prompt 3, sample 2"); not used for scoring.</summary>
    public string? Id { get; init; }

    /// <summary>Gets free-form metadata carried to reward models and results (image id, data source, …); not used for caching.</summary>
    public IReadOnlyDictionary<string, object?>? Metadata { get; init; }

    /// <summary>Gets the option label for a zero-based choice index: 0 → "A", 25 → "Z".</summary>
    /// <param name="index">The zero-based option index, in [0, 26).</param>
    /// <returns>The label.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is outside [0, 26).</exception>
    public static string OptionLabel(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, 26);
        return ((char)('A' + index)).ToString();
    }

    private static void ValidateChoices(IReadOnlyList<string> choices, string goldAnswer)
    {
        if (choices.Count < 2)
        {
            throw new ArgumentException($"A multiple-choice item needs at least two choices; got {choices.Count}.", nameof(choices));
        }

        if (choices.Count > 26)
        {
            throw new ArgumentException($"At most 26 choices (labels A-Z) are supported; got {choices.Count}.", nameof(choices));
        }

        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        for (int i = 0; i < choices.Count; i++)
        {
            string? choice = choices[i];
            if (string.IsNullOrWhiteSpace(choice))
            {
                throw new ArgumentException($"Choice {OptionLabel(i)} (index {i}) is null or empty.", nameof(choices));
            }

            if (!seen.Add(choice.Trim()))
            {
                throw new ArgumentException($"Choice {OptionLabel(i)} (index {i}) duplicates an earlier choice: \"{choice}\".", nameof(choices));
            }
        }

        // A gold answer written as a bare label ("E", "(E)") must name one of the choices.
        string trimmed = goldAnswer.Trim().Trim('(', ')', '.', ' ');
        if (trimmed.Length == 1 && char.IsAsciiLetter(trimmed[0]))
        {
            int index = char.ToUpperInvariant(trimmed[0]) - 'A';
            bool isAlsoChoiceText = seen.Contains(trimmed);
            if (index >= choices.Count && !isAlsoChoiceText)
            {
                throw new ArgumentException(
                    $"The gold answer is option label \"{trimmed}\", but there are only {choices.Count} choices (A-{OptionLabel(choices.Count - 1)}).",
                    nameof(goldAnswer));
            }
        }
    }
}
