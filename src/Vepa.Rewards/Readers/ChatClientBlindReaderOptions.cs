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
/// The evidence goes into a data block (<c>&lt;description&gt;</c> … <c>&lt;/description&gt;</c> in the default template) after it is
/// neutralised: invisible characters removed, NFKC applied, every bracket-like character turned into a round parenthesis (so no verdict
/// tag, think tag, chat-template marker or block delimiter can be written in it), and structural labels such as <c>Answer:</c> lose their
/// colon. The default system prompt says that the block is data, never instructions. This applies to custom templates and to
/// <see cref="MessagesFactory"/> too (it receives the neutralised evidence).
/// </para>
/// <para>
/// How a reply is read: only the final answer segment (after the last closing think tag) counts. A JSON object
/// <c>{"verdict", "answer"}</c> is read as such; otherwise the segment must hold exactly one <c>[[CHEAT]]</c> / <c>[[honest]]</c> tag
/// (two tags, or a tag inside quoted text, make the reply ambiguous), and the answer is the rest of the tag's line (the next lines only when
/// that is empty). A trailing explanation is dropped: from <c>because</c>, from a label such as <c>Explanation:</c> or <c>Reason:</c>,
/// from a spaced dash, and after the first sentence (<c>Blue. The car is blue.</c> gives <c>Blue</c>; <c>3.5</c>, <c>B. Blue</c> and
/// <c>Dr. Smith</c> stay whole).
/// </para>
/// <para>
/// Failures the evidence caused are reported with <see cref="BlindReaderException.Kind"/> = <see cref="RewardFailureKind.Evidence"/>: a
/// malformed or ambiguous reply, a reply cut off by the output-token limit (never scored, even when it parses), a content filter, a request
/// over the reader's context length. The reward model scores them as a penalty instead of excluding them.
/// </para>
/// <para>The reader copies the options when it is built; changing them afterwards does not affect it. Instances are not thread-safe.</para>
/// </remarks>
public sealed class ChatClientBlindReaderOptions
{
    /// <summary>Gets the placeholder that <see cref="UserPromptTemplate"/> replaces by the question.</summary>
    public static string QuestionPlaceholder => ChatClientBlindReaderPrompt.QuestionPlaceholder;

    /// <summary>Gets the placeholder that <see cref="UserPromptTemplate"/> replaces by the options block.</summary>
    /// <remarks>
    /// For a multiple-choice item the block is <c>Options:</c> followed by one line per option (<c>A. red</c>, <c>B. blue</c>, …)
    /// and a final line break; for an open question it is empty.
    /// </remarks>
    public static string ChoicesPlaceholder => ChatClientBlindReaderPrompt.ChoicesPlaceholder;

    /// <summary>Gets the placeholder that <see cref="UserPromptTemplate"/> replaces by the evidence (<c>(no description)</c> when the evidence is empty).</summary>
    public static string EvidencePlaceholder => ChatClientBlindReaderPrompt.EvidencePlaceholder;

    /// <summary>Gets the default system prompt (the paper's judge-and-solver instructions, in our words).</summary>
    public static string DefaultSystemPrompt => ChatClientBlindReaderPrompt.DefaultSystemPrompt;

    /// <summary>Gets the default user prompt template.</summary>
    public static string DefaultUserPromptTemplate => ChatClientBlindReaderPrompt.DefaultUserPromptTemplate;

    /// <summary>Gets or sets the system message sent before the user message; <see langword="null"/> or empty sends none.</summary>
    /// <value>The default is <see cref="DefaultSystemPrompt"/>.</value>
    /// <remarks>For models without a system role, set this to <see langword="null"/> and put the instructions in <see cref="UserPromptTemplate"/>.</remarks>
    public string? SystemPrompt { get; set; } = ChatClientBlindReaderPrompt.DefaultSystemPrompt;

    /// <summary>Gets or sets the user message template.</summary>
    /// <value>The default is <see cref="DefaultUserPromptTemplate"/>.</value>
    /// <remarks>
    /// <see cref="QuestionPlaceholder"/> and <see cref="EvidencePlaceholder"/> are required, <see cref="ChoicesPlaceholder"/> is
    /// optional. Replacement is a single pass, so braces inside the question or evidence are never expanded; any other text,
    /// braces included, is sent as written. Ignored when <see cref="MessagesFactory"/> is set.
    /// </remarks>
    public string UserPromptTemplate { get; set; } = ChatClientBlindReaderPrompt.DefaultUserPromptTemplate;

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

    /// <summary>Gets or sets how the model is asked to format its reply.</summary>
    /// <value>The default is <see cref="BlindReaderReplyFormat.Tags"/> (the paper's format, understood by any chat model).</value>
    /// <remarks>
    /// <see cref="BlindReaderReplyFormat.JsonSchema"/> sets <see cref="ChatOptions.ResponseFormat"/> to a JSON schema on every call (unless
    /// <see cref="ChatOptions"/> already sets a response format) and, when <see cref="SystemPrompt"/> is the default, sends
    /// <see cref="DefaultJsonSystemPrompt"/> instead. Prefer it on servers with guided decoding (vLLM, SGLang) or structured outputs.
    /// </remarks>
    public BlindReaderReplyFormat ReplyFormat { get; set; } = BlindReaderReplyFormat.Tags;

    /// <summary>Gets the system prompt sent for <see cref="BlindReaderReplyFormat.JsonSchema"/> when <see cref="SystemPrompt"/> is the default.</summary>
    public static string DefaultJsonSystemPrompt => ChatClientBlindReaderPrompt.DefaultJsonSystemPrompt;

    /// <summary>Gets or sets whether a reply that cannot be parsed (empty, no answer, no tag under <see cref="Rewards.MissingTagPolicy.Fail"/>) is reported as transient, so a retry stage tries again.</summary>
    /// <value>The default is <see langword="false"/>: with greedy decoding the same prompt gives the same reply, so a retry would not help,
    /// and the failure is <see cref="RewardFailureKind.Evidence"/> (scored as a penalty).</value>
    /// <remarks>When <see langword="true"/>, such a reply is a transient <see cref="RewardFailureKind.Infrastructure"/> failure instead: retried,
    /// and NaN when retries run out. Use it only with a sampling reader; a policy can then make replies fail on purpose to escape a low score.</remarks>
    public bool MalformedReplyIsTransient { get; set; }
}
