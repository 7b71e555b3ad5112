using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.AI;

namespace Vepa.Rewards;

/// <summary>A blind reader that asks an <see cref="IChatClient"/> (any OpenAI-compatible server, or any other chat backend).</summary>
/// <remarks>
/// One chat call per read: the prompt from <see cref="ChatClientBlindReaderPrompt"/>, the reply parsed by
/// <see cref="ChatClientBlindReaderReplyParser"/>, failures classified by <see cref="ChatClientBlindReaderFailures"/>.
/// It does not own the chat client. Safe to call concurrently when the chat client is.
/// </remarks>
internal sealed class ChatClientBlindReader : IBlindReader
{
    private static readonly ChatResponseFormat JsonReplyFormat = ChatResponseFormat.ForJsonSchema(
        System.Text.Json.JsonDocument.Parse(ChatClientBlindReaderPrompt.ReplyJsonSchema).RootElement.Clone(),
        "blind_reader_verdict",
        "The blind reader's verdict on the description and its answer to the question.");

    private readonly IChatClient _chatClient;
    private readonly ChatClientBlindReaderPrompt _prompt;
    private readonly ChatOptions? _chatOptions;
    private readonly MissingTagPolicy _missingTagPolicy;
    private readonly bool _malformedReplyIsTransient;

    /// <summary>Initializes a new instance of the <see cref="ChatClientBlindReader"/> class.</summary>
    /// <param name="chatClient">The chat client to ask.</param>
    /// <param name="options">The options, already validated; copied here.</param>
    public ChatClientBlindReader(IChatClient chatClient, ChatClientBlindReaderOptions options)
    {
        _chatClient = chatClient;
        _prompt = new ChatClientBlindReaderPrompt(options);
        _chatOptions = options.ChatOptions?.Clone();
        if (options.ReplyFormat == BlindReaderReplyFormat.JsonSchema)
        {
            _chatOptions ??= new ChatOptions();
            _chatOptions.ResponseFormat ??= JsonReplyFormat;
        }

        _missingTagPolicy = options.MissingTagPolicy;
        _malformedReplyIsTransient = options.MalformedReplyIsTransient;
    }

    /// <inheritdoc />
    public async Task<BlindReaderReply> ReadAsync(BlindReaderQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        ValidateQuery(query);

        List<ChatMessage> messages = _prompt.Build(query);
        long started = Stopwatch.GetTimestamp();
        ChatResponse response;
        try
        {
            response = await _chatClient.GetResponseAsync(messages, _chatOptions?.Clone(), cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex) when (ex is not (OutOfMemoryException or BlindReaderException))
        {
            throw ChatClientBlindReaderFailures.FromCallFailure(ex, Stopwatch.GetElapsedTime(started));
        }

        string text = response.Text;
        if (response.FinishReason == ChatFinishReason.ContentFilter)
        {
            throw new BlindReaderException(
                "The reader's reply was stopped by the endpoint's content filter.",
                RewardFailureKind.Evidence,
                isTransient: false) { IsReply = true };
        }

        ChatClientBlindReaderParseResult parsed = ChatClientBlindReaderReplyParser.Parse(text, _missingTagPolicy);
        if (response.FinishReason == ChatFinishReason.Length)
        {
            // A cut-off reply is never scored, even when what arrived parses: the verdict or the answer may be incomplete.
            string state = parsed.Succeeded ? "it may be incomplete" : parsed.Error!;
            throw Malformed($"The reader's reply was cut off by the output-token limit ({state}); raise ChatOptions.MaxOutputTokens if honest evidence hits it.");
        }

        if (!parsed.Succeeded)
        {
            throw Malformed($"The reader's reply is malformed: {parsed.Error}.");
        }

        return new BlindReaderReply(parsed.Answer, parsed.IsHonest, text);
    }

    private static void ValidateQuery(BlindReaderQuery query)
    {
        if (string.IsNullOrWhiteSpace(query.Question))
        {
            throw new ArgumentException("The query's question must not be null or empty.", nameof(query));
        }

        if (query.Evidence is null)
        {
            throw new ArgumentException("The query's evidence must not be null (use an empty string for no evidence).", nameof(query));
        }

        if (query.Choices is { } choices)
        {
            if (choices.Count > 26)
            {
                throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"The query has {choices.Count} choices; at most 26 (labels A-Z) are supported."), nameof(query));
            }

            for (int i = 0; i < choices.Count; i++)
            {
                if (choices[i] is null)
                {
                    throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"The query's choice {RewardRequest.OptionLabel(i)} (index {i}) is null."), nameof(query));
                }
            }
        }
    }

    private BlindReaderException Malformed(string message) => _malformedReplyIsTransient
        ? new BlindReaderException(message, RewardFailureKind.Infrastructure, isTransient: true) { IsReply = true }
        : new BlindReaderException(message, RewardFailureKind.Evidence, isTransient: false) { IsReply = true };
}
