using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Reflection;

namespace Vepa.Rewards;

/// <summary>Turns what a chat client throws into a <see cref="BlindReaderException"/> with a safe reason and a transient flag.</summary>
/// <remarks>
/// <para>
/// Reasons are built only from structured facts (an HTTP status, an error category, an exception type name, the elapsed
/// time), never from exception messages or response bodies, which a server may fill with anything, echoed credentials
/// included. The original exception stays available as <see cref="Exception.InnerException"/>.
/// </para>
/// <para>
/// Transient: timeouts, HTTP 408, 425, 429 and 5xx, a request that got no response (refused or dropped connection, DNS),
/// and I/O errors. Permanent: every other HTTP status (400, 401, 403, 404, 422, …) and any other exception.
/// </para>
/// <para>
/// Kinds (<see cref="RewardFailureKind"/>): the transient ones and unknown client errors are <see cref="RewardFailureKind.Infrastructure"/>;
/// HTTP 413, and a 400 whose error says that the context length was exceeded or that a content filter stopped the request, are
/// <see cref="RewardFailureKind.Evidence"/> (the evidence caused them); every other 4xx (400, 401, 403, 404, 422, …) is
/// <see cref="RewardFailureKind.Configuration"/>. The error text is searched for those causes but never quoted.
/// </para>
/// <para>
/// The HTTP status is read from <see cref="HttpRequestException.StatusCode"/> or, for client libraries with their own
/// exception type (System.ClientModel's <c>ClientResultException</c> thrown by the OpenAI client, Azure.Core's
/// <c>RequestFailedException</c>), from a public <see cref="int"/> property named <c>Status</c> (0 meaning "no response"),
/// so Vepa.Rewards needs no reference to those libraries.
/// </para>
/// </remarks>
internal static partial class ChatClientBlindReaderFailures
{
    private static readonly ConcurrentDictionary<Type, PropertyInfo?> StatusProperties = new();

    /// <summary>Wraps a failure of the chat call.</summary>
    /// <param name="exception">What the chat client threw (not a cancellation the caller asked for).</param>
    /// <param name="elapsed">How long the call ran.</param>
    /// <returns>The exception to throw.</returns>
    public static BlindReaderException FromCallFailure(Exception exception, TimeSpan elapsed)
    {
        string seconds = elapsed.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture);
        if (GetHttpStatus(exception) is int status)
        {
            return FromStatus(status, exception, ReadErrorText(exception));
        }

        // No HTTP status: look for what broke underneath (client libraries wrap it once or twice).
        for (Exception? cause = exception; cause is not null; cause = cause.InnerException)
        {
            switch (cause)
            {
                case OperationCanceledException or TimeoutException:
                    return new BlindReaderException(
                        $"The chat call timed out after {seconds} s without a reply (a client network timeout or an HTTP timeout).",
                        isTransient: true,
                        exception);

                case HttpRequestException http:
                    return new BlindReaderException(
                        $"The chat call got no HTTP response after {seconds} s ({Describe(http.HttpRequestError)}).",
                        isTransient: true,
                        exception);

                case SocketException or IOException:
                    return new BlindReaderException(
                        $"The connection to the chat endpoint failed after {seconds} s ({cause.GetType().Name}).",
                        isTransient: true,
                        exception);
            }
        }

        if (HasNoResponseStatus(exception))
        {
            return new BlindReaderException(
                $"The chat call got no HTTP response after {seconds} s.",
                isTransient: true,
                exception);
        }

        return new BlindReaderException(
            $"The chat client failed with {exception.GetType().FullName}; the inner exception has the details (log it at Trace only: it may quote the server's response).",
            isTransient: false,
            exception);
    }

    /// <summary>Gets whether an HTTP status is worth retrying.</summary>
    /// <param name="status">The status code.</param>
    /// <returns><see langword="true"/> for 408, 425, 429 and 5xx.</returns>
    public static bool IsTransientStatus(int status) => status is 408 or 425 or 429 or (>= 500 and <= 599);

    private static BlindReaderException FromStatus(int status, Exception exception, string errorText)
    {
        string name = Enum.IsDefined(typeof(HttpStatusCode), status) ? $" ({(HttpStatusCode)status})" : string.Empty;
        string prefix = string.Create(CultureInfo.InvariantCulture, $"The chat endpoint answered HTTP {status}{name}.");
        if (IsTransientStatus(status))
        {
            return new BlindReaderException(prefix, RewardFailureKind.Infrastructure, isTransient: true, exception);
        }

        if (status == 413 || (status is 400 or 422 && ContextLengthRegex().IsMatch(errorText)))
        {
            return new BlindReaderException(
                $"{prefix} The request exceeds the reader's context length: the evidence is too long.",
                RewardFailureKind.Evidence,
                isTransient: false,
                exception);
        }

        if (status is 400 or 403 or 422 && ContentFilterRegex().IsMatch(errorText))
        {
            return new BlindReaderException($"{prefix} The endpoint's content filter rejected the request.", RewardFailureKind.Evidence, isTransient: false, exception);
        }

        string advice = status switch
        {
            401 or 403 => " Check the API key and the endpoint the chat client was built with.",
            404 => " Check the endpoint address and the model id.",
            400 or 422 => " The server rejected the request itself (not its length): check the model id, the chat options and the prompt.",
            _ => string.Empty,
        };
        return new BlindReaderException(prefix + advice, RewardFailureKind.Configuration, isTransient: false, exception);
    }

    /// <summary>Collects the messages of the exception chain, only to search them for a cause; the text is never quoted.</summary>
    private static string ReadErrorText(Exception exception)
    {
        var text = new System.Text.StringBuilder();
        for (Exception? e = exception; e is not null; e = e.InnerException)
        {
            text.Append(e.Message).Append('\n');
        }

        return text.ToString();
    }

    /// <summary>What OpenAI, vLLM, SGLang, TGI, llama.cpp and Ollama say when a prompt is longer than the model's context.</summary>
    [System.Text.RegularExpressions.GeneratedRegex(
        @"context[_ ]length[_ ]exceeded|maximum context length|context (?:length|window|size)|(?:prompt|input|request)\b[^\n]{0,40}\b(?:too long|longer than|exceeds?)|too many (?:input )?tokens|exceeds? the (?:available )?context|max_model_len|string_above_max_length|tokens?[^\n]{0,80}must be\s*<=\s*\d+|inputs?\b[^\n]{0,40}(?:must have less than|less than \d+ tokens)",
        System.Text.RegularExpressions.RegexOptions.IgnoreCase | System.Text.RegularExpressions.RegexOptions.CultureInvariant)]
    private static partial System.Text.RegularExpressions.Regex ContextLengthRegex();

    /// <summary>What Azure OpenAI and others say when a content filter stops a request.</summary>
    [System.Text.RegularExpressions.GeneratedRegex(
        @"content[_ ]filter|content[_ ]policy|content management policy|responsible ?ai policy|safety system",
        System.Text.RegularExpressions.RegexOptions.IgnoreCase | System.Text.RegularExpressions.RegexOptions.CultureInvariant)]
    private static partial System.Text.RegularExpressions.Regex ContentFilterRegex();

    /// <summary>Finds the HTTP status a failed call received, if it received one.</summary>
    private static int? GetHttpStatus(Exception exception)
    {
        if (exception is HttpRequestException { StatusCode: { } statusCode })
        {
            return (int)statusCode;
        }

        return ReadStatusProperty(exception) is int status and >= 100 and <= 599 ? status : null;
    }

    private static bool HasNoResponseStatus(Exception exception) => ReadStatusProperty(exception) is 0;

    private static int? ReadStatusProperty(Exception exception)
    {
        PropertyInfo? property = StatusProperties.GetOrAdd(
            exception.GetType(),
            static type => type.GetProperty("Status", BindingFlags.Public | BindingFlags.Instance) is { PropertyType: var propertyType } candidate
                           && propertyType == typeof(int) && candidate.GetIndexParameters().Length == 0
                ? candidate
                : null);
        return property?.GetValue(exception) as int?;
    }

    private static string Describe(HttpRequestError error) => error switch
    {
        HttpRequestError.ConnectionError => "the connection failed",
        HttpRequestError.NameResolutionError => "the host name could not be resolved",
        HttpRequestError.SecureConnectionError => "the TLS handshake failed",
        HttpRequestError.ResponseEnded => "the response ended early",
        HttpRequestError.ProxyTunnelError => "the proxy tunnel failed",
        HttpRequestError.HttpProtocolError => "an HTTP protocol error",
        HttpRequestError.InvalidResponse => "the response was invalid",
        HttpRequestError.ConfigurationLimitExceeded => "a client limit was exceeded",
        _ => "an unknown HTTP error",
    };
}
