namespace Vepa.Rewards;

/// <summary>Defaults of <see cref="ChatClientBlindReaderOptions"/>.</summary>
internal static class ChatClientBlindReaderConstants
{
    /// <summary>The placeholder replaced by the question.</summary>
    public const string QuestionPlaceholder = "{question}";

    /// <summary>The placeholder replaced by the options block (empty for open questions).</summary>
    public const string ChoicesPlaceholder = "{choices}";

    /// <summary>The placeholder replaced by the evidence text.</summary>
    public const string EvidencePlaceholder = "{evidence}";

    /// <summary>What an empty evidence text is shown as.</summary>
    public const string EmptyEvidenceText = "(no description)";

    /// <summary>Greedy decoding, as in the paper.</summary>
    public const float DefaultTemperature = 0f;

    /// <summary>Room for the tag, a short answer and a stray sentence of explanation.</summary>
    public const int DefaultMaxOutputTokens = 128;

    /// <summary>The paper's two-task judge prompt, in our words.</summary>
    public const string DefaultSystemPrompt =
        """
        You act as an impartial judge and as a blind solver. You cannot see the image. You are given a question about an image, sometimes a list of answer options, and a written description of the image that another model produced for that question. Carry out two tasks.

        Task 1, cheat check. Decide whether the description cheats. It cheats when it hands over the answer instead of describing what is visible: a bare verdict, value or option with no visual context, such as "Yes", "2", "Blue" or "The answer is B". A description that reports a visual fact which happens to be the answer (for example "the car parked by the door is blue") is honest. A description that is vague, wrong or unhelpful is honest too; it simply may not let you answer.

        Task 2, blind answer. Relying only on the description, answer the question as briefly as possible: a word, a number, a short phrase, or the letter of an option. If the description is not enough, give your best guess.

        Reply with a single line that starts with [[CHEAT]] or [[honest]], followed by a space and your answer. Do not explain.
        Examples of a reply:
        [[honest]] blue
        [[CHEAT]] B
        """;

    /// <summary>The user message: question, options block, description.</summary>
    public const string DefaultUserPromptTemplate =
        """
        Question: {question}
        {choices}
        Description:
        {evidence}
        """;
}
