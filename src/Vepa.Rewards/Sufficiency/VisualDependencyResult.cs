namespace Vepa.Rewards;

/// <summary>Whether the blind reader answered one item correctly from the question (and choices) alone, or why that could not be decided.</summary>
/// <remarks>
/// A failed item (<see cref="IsEvaluated"/> = <see langword="false"/>) is neither answered nor visually dependent: decide yourself
/// whether to keep, drop or retry it; it is never silently counted as dependent.
/// </remarks>
public sealed record VisualDependencyResult
{
    internal VisualDependencyResult(RewardRequest item, int correctSamples, IReadOnlyList<string> readerAnswers, bool answeredWithoutEvidence, RewardFailure? failure)
    {
        Item = item;
        CorrectSamples = correctSamples;
        ReaderAnswers = readerAnswers;
        IsAnsweredWithoutEvidence = answeredWithoutEvidence;
        Failure = failure;
    }

    /// <summary>Gets the item that was evaluated.</summary>
    public RewardRequest Item { get; }

    /// <summary>Gets whether every reader call needed for the decision succeeded.</summary>
    public bool IsEvaluated => Failure is null;

    /// <summary>Gets whether at least <see cref="VisualDependencyOptions.MinCorrectSamples"/> of the reader's answers without evidence were correct (drop such items); <see langword="false"/> when the item failed.</summary>
    public bool IsAnsweredWithoutEvidence { get; }

    /// <summary>Gets whether the item was evaluated and not answered without evidence (keep such items).</summary>
    public bool IsVisuallyDependent => IsEvaluated && !IsAnsweredWithoutEvidence;

    /// <summary>Gets how many of the reader's answers were correct.</summary>
    public int CorrectSamples { get; }

    /// <summary>Gets the reader's answers, one per call made (sampling stops early once the decision is certain).</summary>
    public IReadOnlyList<string> ReaderAnswers { get; }

    /// <summary>Gets why the item could not be evaluated, or <see langword="null"/> when it was.</summary>
    public RewardFailure? Failure { get; }
}
