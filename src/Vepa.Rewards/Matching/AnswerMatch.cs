namespace Vepa.Rewards;

/// <summary>The outcome of comparing a reader's answer with the gold answer.</summary>
/// <param name="Kind">How the answer matched, or why it did not.</param>
/// <param name="SelectedOption">For a multiple-choice item, the label of the option the answer was read as selecting ("B"), or <see langword="null"/> when none could be determined.</param>
public sealed record AnswerMatch(AnswerMatchKind Kind, string? SelectedOption = null)
{
    /// <summary>Gets whether the answer counts as correct.</summary>
    public bool IsMatch => Kind is AnswerMatchKind.Exact or AnswerMatchKind.Equivalent or AnswerMatchKind.Contained
        or AnswerMatchKind.YesNo or AnswerMatchKind.OptionLabel or AnswerMatchKind.OptionText;
}
