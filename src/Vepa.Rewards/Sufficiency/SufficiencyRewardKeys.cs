namespace Vepa.Rewards;

/// <summary>The names of the extra component and the annotations that <see cref="SufficiencyRewardModel"/> reports on each scored result.</summary>
/// <remarks>
/// The components s, h and γ are named by <see cref="RewardComponentNames.Sufficiency"/> ("s"), <see cref="RewardComponentNames.Honesty"/> ("h")
/// and <see cref="RewardComponentNames.Repetition"/> ("gamma").
/// </remarks>
public static class SufficiencyRewardKeys
{
    /// <summary>Component: the repeated n-gram ratio of the evidence, in [0, 1).</summary>
    public const string RepetitionRatio = "repetition_ratio";

    /// <summary>Annotation: the reader's answer.</summary>
    public const string ReaderAnswer = "reader_answer";

    /// <summary>Annotation: the reader's full output, when the reader returned one.</summary>
    public const string ReaderRawText = "reader_raw_text";

    /// <summary>Annotation: how the answer matched or why not (an <see cref="AnswerMatchKind"/> name).</summary>
    public const string MatchKind = "match_kind";

    /// <summary>Annotation: set when the reader was not called: "empty evidence" (blank, zero-width or control characters only) or "evidence over the cap".</summary>
    public const string ReaderSkipped = "reader_skipped";

    /// <summary>Annotation on a penalised result (<see cref="RewardResult.IsPenalized"/>): why the evidence got the penalty.</summary>
    public const string Penalty = "penalty";
}
