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
/// HTTP 413, an error whose response body (read through the exception's <c>GetRawResponse()</c>) or message says that the context length
/// was exceeded (any status but 401, 404, 408, 425, 429: llama.cpp answers 500), and a 400, 403, 422 or 451 whose body says that a content
/// filter or a prompt screen stopped the request, are <see cref="RewardFailureKind.Evidence"/> (the evidence caused them; see
/// <see cref="ReaderErrorBody"/> for the bodies of each server); every other 4xx (400, 401, 403, 404, 422, …) is
/// <see cref="RewardFailureKind.Configuration"/>. The body is searched for those causes but never quoted.
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
    private static readonly ConcurrentDictionary<Type, MethodInfo?> RawResponseMethods = new();

    /// <summary>Wraps a failure of the chat call.</summary>
    /// <param name="exception">What the chat client threw (not a cancellation the caller asked for).</param>
    /// <param name="elapsed">How long the call ran.</param>
    /// <returns>The exception to throw.</returns>
    public static BlindReaderException FromCallFailure(Exception exception, TimeSpan elapsed)
    {
        string seconds = elapsed.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture);
        if (GetHttpStatus(exception) is int status)
        {
            return FromStatus(status, exception, ReaderErrorBody.Classify(ReadResponseBody(exception), ReadErrorText(exception)));
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

        // A client that reports no status but says that the prompt is too long or was filtered (a body folded into its message).
        ReaderErrorCause stated = ReaderErrorBody.Classify(ReadResponseBody(exception), ReadErrorText(exception));
        if (stated != ReaderErrorCause.None)
        {
            return EvidenceFailure($"The chat call failed after {seconds} s.", stated, exception);
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

    private static BlindReaderException FromStatus(int status, Exception exception, ReaderErrorCause cause)
    {
        string name = Enum.IsDefined(typeof(HttpStatusCode), status) ? $" ({(HttpStatusCode)status})" : string.Empty;
        string prefix = string.Create(CultureInfo.InvariantCulture, $"The chat endpoint answered HTTP {status}{name}.");

        // The body decides before the status: llama.cpp answers an over-long prompt with HTTP 500, and a content filter may answer 403.
        if (status == 413 || (cause == ReaderErrorCause.ContextLength && status is >= 400 and not (401 or 404 or 408 or 425 or 429)))
        {
            return EvidenceFailure(prefix, ReaderErrorCause.ContextLength, exception);
        }

        if (cause == ReaderErrorCause.ContentPolicy && status is 400 or 403 or 422 or 451)
        {
            return EvidenceFailure(prefix, ReaderErrorCause.ContentPolicy, exception);
        }

        if (IsTransientStatus(status))
        {
            return new BlindReaderException(prefix, RewardFailureKind.Infrastructure, isTransient: true, exception);
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

    private static BlindReaderException EvidenceFailure(string prefix, ReaderErrorCause cause, Exception exception) => new(
        cause == ReaderErrorCause.ContextLength
            ? $"{prefix} The request exceeds the reader's context length: the evidence is too long."
            : $"{prefix} The endpoint's content filter rejected the request.",
        RewardFailureKind.Evidence,
        isTransient: false,
        exception);

    /// <summary>Reads the response body of a client exception that keeps the response (System.ClientModel's <c>ClientResultException</c>,
    /// Azure.Core's <c>RequestFailedException</c>: a public <c>GetRawResponse()</c> whose result has a <c>Content</c>), anywhere in the chain;
    /// empty when none can be read. The body is only searched, never quoted.</summary>
    private static string ReadResponseBody(Exception exception)
    {
        for (Exception? e = exception; e is not null; e = e.InnerException)
        {
            MethodInfo? getResponse = RawResponseMethods.GetOrAdd(e.GetType(), static type => type.GetMethod("GetRawResponse", BindingFlags.Public | BindingFlags.Instance, Type.EmptyTypes));
            if (getResponse is null)
            {
                continue;
            }

            try
            {
                object? response = getResponse.Invoke(e, null);
                object? content = response?.GetType().GetProperty("Content", BindingFlags.Public | BindingFlags.Instance)?.GetValue(response);
                if (content?.ToString() is { Length: > 0 } body)
                {
                    return body;
                }
            }
            catch (Exception ex) when (ex is TargetInvocationException or InvalidOperationException or NotSupportedException or ObjectDisposedException)
            {
                // The content was not buffered or is gone: fall back to the messages.
            }
        }

        return string.Empty;
    }

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
