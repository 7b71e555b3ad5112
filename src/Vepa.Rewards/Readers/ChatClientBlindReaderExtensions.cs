using Microsoft.Extensions.AI;

namespace Vepa.Rewards;

/// <summary>Makes any <see cref="IChatClient"/> a VEPA blind reader.</summary>
public static class ChatClientBlindReaderExtensions
{
    /// <summary>Creates a blind reader that prompts <paramref name="chatClient"/> as the paper's "impartial judge and blind solver".</summary>
    /// <param name="chatClient">
    /// The chat client to ask; for an OpenAI-compatible server (vLLM, SGLang, llama.cpp, Ollama, Azure OpenAI, OpenAI), for example
    /// <c>new OpenAIClient(key, new OpenAIClientOptions { Endpoint = ... }).GetChatClient("model").AsIChatClient()</c>.
    /// The reader does not dispose it.
    /// </param>
    /// <param name="options">The prompt, chat options and parsing policy; the defaults when <see langword="null"/>. Copied: later changes have no effect.</param>
    /// <returns>The reader. It is safe to call concurrently when <paramref name="chatClient"/> is.</returns>
    /// <remarks>
    /// <para>
    /// Each read sends one request with the evidence neutralised inside a data block, and parses the final segment of the reply:
    /// exactly one <c>[[CHEAT]]</c> / <c>[[honest]]</c> tag followed by the answer, or a JSON object <c>{"verdict", "answer"}</c>
    /// (see <see cref="ChatClientBlindReaderOptions"/> and docs/rewards.md).
    /// </para>
    /// <para>
    /// Failures surface as <see cref="BlindReaderException"/> with a <see cref="BlindReaderException.Kind"/>: timeouts, HTTP
    /// 408/425/429/5xx and lost connections are transient <see cref="RewardFailureKind.Infrastructure"/> failures; HTTP 401, 403, 404
    /// and a 400 not about the context length are <see cref="RewardFailureKind.Configuration"/>; a request over the context length,
    /// a content filter, and a malformed, ambiguous or truncated reply are <see cref="RewardFailureKind.Evidence"/> (unless
    /// <see cref="ChatClientBlindReaderOptions.MalformedReplyIsTransient"/> is set). Messages never include response bodies, the
    /// reply, or exception messages from the client, so they cannot leak a credential; the client's exception is kept as the inner
    /// exception. Cancelling the caller's token throws <see cref="OperationCanceledException"/>.
    /// </para>
    /// </remarks>
    /// <exception cref="ArgumentNullException"><paramref name="chatClient"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="options"/> is invalid; the message lists every problem.</exception>
    public static IBlindReader AsBlindReader(this IChatClient chatClient, ChatClientBlindReaderOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(chatClient);
        options ??= new ChatClientBlindReaderOptions();
        ChatClientBlindReaderOptionsValidator.ThrowIfInvalid(options, nameof(options));
        return new ChatClientBlindReader(chatClient, options);
    }
}
