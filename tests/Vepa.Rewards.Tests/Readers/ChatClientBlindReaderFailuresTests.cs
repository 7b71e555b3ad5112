using System.ClientModel;
using System.Net;
using System.Net.Sockets;

namespace Vepa.Rewards.Tests.Readers;

/// <summary>Classification of what other chat clients throw (the HTTP tests cover what the OpenAI client throws).</summary>
public sealed class ChatClientBlindReaderFailuresTests
{
    private static readonly TimeSpan Elapsed = TimeSpan.FromMilliseconds(1250);

    public static TheoryData<Exception, bool, string> Failures => new()
    {
        { new HttpRequestException("boom", null, HttpStatusCode.ServiceUnavailable), true, "The chat endpoint answered HTTP 503 (ServiceUnavailable)." },
        { new HttpRequestException("boom", null, HttpStatusCode.TooManyRequests), true, "The chat endpoint answered HTTP 429 (TooManyRequests)." },
        { new HttpRequestException("boom", null, HttpStatusCode.BadRequest), false, "The chat endpoint answered HTTP 400 (BadRequest). The server rejected the request itself (not its length): check the model id, the chat options and the prompt." },
        { new HttpRequestException("boom", null, HttpStatusCode.Unauthorized), false, "The chat endpoint answered HTTP 401 (Unauthorized). Check the API key and the endpoint the chat client was built with." },
        { new HttpRequestException("boom", null, HttpStatusCode.NotFound), false, "The chat endpoint answered HTTP 404 (NotFound). Check the endpoint address and the model id." },
        { new HttpRequestException("boom", null, (HttpStatusCode)599), true, "The chat endpoint answered HTTP 599." },
        { new HttpRequestException(HttpRequestError.ConnectionError, "refused"), true, "The chat call got no HTTP response after 1.25 s (the connection failed)." },
        { new HttpRequestException(HttpRequestError.NameResolutionError, "dns"), true, "The chat call got no HTTP response after 1.25 s (the host name could not be resolved)." },
        { new HttpRequestException("no status"), true, "The chat call got no HTTP response after 1.25 s (an unknown HTTP error)." },
        { new IOException("reset"), true, "The connection to the chat endpoint failed after 1.25 s (IOException)." },
        { new InvalidOperationException("wrapped", new SocketException((int)SocketError.ConnectionReset)), true, "The connection to the chat endpoint failed after 1.25 s (SocketException)." },
        { new TaskCanceledException("timeout"), true, "The chat call timed out after 1.25 s without a reply (a client network timeout or an HTTP timeout)." },
        { new TimeoutException(), true, "The chat call timed out after 1.25 s without a reply (a client network timeout or an HTTP timeout)." },
        { new ClientResultException("no response"), true, "The chat call got no HTTP response after 1.25 s." },
        { new ClientResultException("no response", null, new HttpRequestException(HttpRequestError.ConnectionError, "refused")), true, "The chat call got no HTTP response after 1.25 s (the connection failed)." },
        { new StatusException(502), true, "The chat endpoint answered HTTP 502 (BadGateway)." },
        { new StatusException(403), false, "The chat endpoint answered HTTP 403 (Forbidden). Check the API key and the endpoint the chat client was built with." },
        { new InvalidOperationException("some client bug"), false, "The chat client failed with System.InvalidOperationException; the inner exception has the details (log it at Trace only: it may quote the server's response)." },
    };

    [Theory]
    [MemberData(nameof(Failures))]
    public void Failures_are_wrapped_with_a_safe_reason_and_a_transient_flag(Exception exception, bool isTransient, string message)
    {
        BlindReaderException failure = ChatClientBlindReaderFailures.FromCallFailure(exception, Elapsed);

        failure.IsTransient.Should().Be(isTransient);
        failure.Message.Should().Be(message);
        failure.InnerException.Should().BeSameAs(exception);
    }

    [Theory]
    [InlineData(408, true)]
    [InlineData(425, true)]
    [InlineData(429, true)]
    [InlineData(500, true)]
    [InlineData(599, true)]
    [InlineData(400, false)]
    [InlineData(409, false)]
    [InlineData(499, false)]
    [InlineData(600, false)]
    public void Transient_statuses_are_408_425_429_and_5xx(int status, bool isTransient)
        => ChatClientBlindReaderFailures.IsTransientStatus(status).Should().Be(isTransient);

    /// <summary>Stands in for Azure.Core's RequestFailedException: an exception with an integer Status property.</summary>
    private sealed class StatusException(int status) : Exception("Service request failed.")
    {
        public int Status { get; } = status;
    }
}
