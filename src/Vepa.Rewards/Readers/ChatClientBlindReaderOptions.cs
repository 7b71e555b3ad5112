using Microsoft.Extensions.AI;

namespace Vepa.Rewards;

/// <summary>Configures a blind reader built over an <see cref="IChatClient"/> with <see cref="ChatClientBlindReaderExtensions.AsBlindReader"/>.</summary>
/// <remarks>
/// <para>
/// The default prompt is the paper's two-task "impartial judge and blind solver" prompt: the model first says whether the
/// evidence cheats (states the answer without visual context), then answers the question from the evidence alone, on one
/// line that starts with <c>[[CHEAT]]</c> or <c>[[honest]]</c>. Replace it with <see cref="SystemPrompt"/> and
/// <see cref="UserPromptTemplate"/>, or take full control with <see cref="MessagesFactory"/>; the reply must keep that format.
/// </para>
/// <para>
/// How a reply is read: the verdict is the first <c>[[CHEAT]]</c> / <c>[[honest]]</c> tag anywhere in it (any case, spaces
/// inside the brackets, markdown around it). The answer is the rest of the first line after the tag that starts with
/// <c>Answer:</c> (or <c>Final answer:</c>, <c>The answer is</c>, <c>Task 2:</c>), else the first non-empty line after the
/// tag, stripped of markdown, bullets and quotes. A trailing explanation is dropped: from <c>because</c>, from a label such as
/// <c>Explanation:</c> or <c>Reason:</c>, from a spaced dash, and after the first sentence (<c>Blue. The car is blue.</c>
/// gives <c>Blue</c>; <c>3.5</c>, <c>B. Blue</c> and <c>Dr. Smith</c> stay whole). <c>&lt;think&gt;</c> blocks are ignored.
/// An empty answer, or a missing tag under <see cref="MissingTagPolicy.Fail"/>, makes the reply malformed.
/// </para>
/// <para>The reader copies the options when it is built; changing them afterwards does not affect it. Instances are not thread-safe.</para>
/// </remarks>
public sealed class ChatClientBlindReaderOptions
{
    /// <summary>Gets the placeholder that <see cref="UserPromptTemplate"/> replaces by the question.</summary>
    public static string QuestionPlaceholder => ChatClientBlindReaderConstants.QuestionPlaceholder;

    /// <summary>Gets the placeholder that <see cref="UserPromptTemplate"/> replaces by the options block.</summary>
    /// <remarks>
    /// For a multiple-choice item the block is <c>Options:</c> followed by one line per option (<c>A. red</c>, <c>B. blue</c>, …)
    /// and a final line break; for an open question it is empty.
    /// </remarks>
    public static string ChoicesPlaceholder => ChatClientBlindReaderConstants.ChoicesPlaceholder;

    /// <summary>Gets the placeholder that <see cref="UserPromptTemplate"/> replaces by the evidence (<c>(no description)</c> when the evidence is empty).</summary>
    public static string EvidencePlaceholder => ChatClientBlindReaderConstants.EvidencePlaceholder;

    /// <summary>Gets the default system prompt (the paper's judge-and-solver instructions, in our words).</summary>
    public static string DefaultSystemPrompt => ChatClientBlindReaderConstants.DefaultSystemPrompt;

    /// <summary>Gets the default user prompt template.</summary>
    public static string DefaultUserPromptTemplate => ChatClientBlindReaderConstants.DefaultUserPromptTemplate;

    /// <summary>Gets or sets the system message sent before the user message; <see langword="null"/> or empty sends none.</summary>
    /// <value>The default is <see cref="DefaultSystemPrompt"/>.</value>
    /// <remarks>For models without a system role, set this to <see langword="null"/> and put the instructions in <see cref="UserPromptTemplate"/>.</remarks>
    public string? SystemPrompt { get; set; } = ChatClientBlindReaderConstants.DefaultSystemPrompt;

    /// <summary>Gets or sets the user message template.</summary>
    /// <value>The default is <see cref="DefaultUserPromptTemplate"/>.</value>
    /// <remarks>
    /// <see cref="QuestionPlaceholder"/> and <see cref="EvidencePlaceholder"/> are required, <see cref="ChoicesPlaceholder"/> is
    /// optional. Replacement is a single pass, so braces inside the question or evidence are never expanded; any other text,
    /// braces included, is sent as written. Ignored when <see cref="MessagesFactory"/> is set.
    /// </remarks>
    public string UserPromptTemplate { get; set; } = ChatClientBlindReaderConstants.DefaultUserPromptTemplate;

    /// <summary>Gets or sets a function that builds the whole conversation for a query, replacing the system prompt and the template.</summary>
    /// <value>The default is <see langword="null"/> (use <see cref="SystemPrompt"/> and <see cref="UserPromptTemplate"/>).</value>
    /// <remarks>It is called once per read, possibly from several threads at once; it must return at least one message.</remarks>
    public Func<BlindReaderQuery, IEnumerable<ChatMessage>>? MessagesFactory { get; set; }

    /// <summary>Gets or sets the chat options sent with every call (model id, temperature, output-token limit, …); <see langword="null"/> sends none.</summary>
    /// <value>The default is greedy decoding (<see cref="ChatOptions.Temperature"/> = 0) with <see cref="ChatOptions.MaxOutputTokens"/> = 128.</value>
    /// <remarks>The reader clones the options for each call. Readers that think aloud before answering need a larger token limit.</remarks>
    public ChatOptions? ChatOptions { get; set; } = new()
    {
        Temperature = ChatClientBlindReaderConstants.DefaultTemperature,
        MaxOutputTokens = ChatClientBlindReaderConstants.DefaultMaxOutputTokens,
    };

    /// <summary>Gets or sets what happens when the reply carries no <c>[[CHEAT]]</c> / <c>[[honest]]</c> tag.</summary>
    /// <value>The default is <see cref="Rewards.MissingTagPolicy.Fail"/>.</value>
    public MissingTagPolicy MissingTagPolicy { get; set; } = MissingTagPolicy.Fail;

    /// <summary>Gets or sets whether a reply that cannot be parsed (empty, no answer, no tag under <see cref="Rewards.MissingTagPolicy.Fail"/>) is reported as transient, so a retry stage tries again.</summary>
    /// <value>The default is <see langword="false"/>: with greedy decoding the same prompt gives the same reply, so a retry would not help.</value>
    public bool MalformedReplyIsTransient { get; set; }
}
