namespace Vepa.Rewards;

/// <summary>How an answer matched the gold answer, or why it did not.</summary>
public enum AnswerMatchKind
{
    /// <summary>No match: the gold answer (or the right option) does not occur in the answer.</summary>
    NoMatch,

    /// <summary>No match: the answer is empty or white space.</summary>
    EmptyAnswer,

    /// <summary>No match: the gold answer occurs only after a negation ("not red").</summary>
    Negated,

    /// <summary>No match: the gold answer occurs only in a clause that offers alternatives ("red or blue").</summary>
    Hedged,

    /// <summary>No match: the gold answer is yes or no and the answer has the other polarity.</summary>
    WrongPolarity,

    /// <summary>No match: the answer selects another option, by label or by content (<see cref="AnswerMatch.SelectedOption"/> names it).</summary>
    WrongOption,

    /// <summary>No match: the answer names two different option labels.</summary>
    AmbiguousLabel,

    /// <summary>No match: the right option's text is present, but so is a distractor's.</summary>
    DistractorPresent,

    /// <summary>No match: the answer declines or hedges ("no idea", "can't tell", "not sure", "maybe", "yes and no", "none of the above").</summary>
    NonAnswer,

    /// <summary>No match: the gold answer occurs only as one item of a list or one end of a range ("red and blue", "2-3", "more than 2").</summary>
    ListOrRange,

    /// <summary>Match: the normalized answer equals the normalized gold answer.</summary>
    Exact,

    /// <summary>Match: the normalized answer equals the gold answer up to singular/plural forms or numeric tolerance.</summary>
    Equivalent,

    /// <summary>Match: the gold answer occurs as a contiguous run of words inside a longer answer, not negated or hedged.</summary>
    Contained,

    /// <summary>Match: the gold answer is yes or no and the answer has the same polarity (synonyms allowed).</summary>
    YesNo,

    /// <summary>Match: the answer names the right option by its label.</summary>
    OptionLabel,

    /// <summary>Match: the answer contains the right option's text and no distractor's text.</summary>
    OptionText,

    /// <summary>The answer names more than one candidate of the gold's kind (another number, another colour, another option, several
    /// lines that disagree), however they are joined; not a match.</summary>
    SeveralCandidates,

    /// <summary>The gold only modifies the head of a compound in the answer ("bus stop" for "bus"); not a match.</summary>
    Compound,
}
