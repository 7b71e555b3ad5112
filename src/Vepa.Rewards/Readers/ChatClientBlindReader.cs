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
    private const int MaxQuotedReplyLength = 120;

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
        ChatClientBlindReaderParseResult parsed = ChatClientBlindReaderReplyParser.Parse(text, _missingTagPolicy);
        if (!parsed.Succeeded)
        {
            throw new BlindReaderException(DescribeMalformed(parsed.Error!, text, response.FinishReason), _malformedReplyIsTransient);
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

    private static string DescribeMalformed(string error, string text, ChatFinishReason? finishReason)
    {
        string cause = finishReason == ChatFinishReason.Length
            ? " (the reply hit the output-token limit; raise ChatOptions.MaxOutputTokens)"
            : finishReason == ChatFinishReason.ContentFilter
                ? " (the endpoint's content filter stopped the reply)"
                : string.Empty;
        string quoted = text.Length > MaxQuotedReplyLength ? string.Concat(text.AsSpan(0, MaxQuotedReplyLength), "…") : text;
        quoted = quoted.Replace("\r", "\\r", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);
        return $"The reader's reply is malformed: {error}{cause}. Reply: \"{quoted}\"";
    }
}
