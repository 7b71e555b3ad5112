namespace Vepa.Engines;

/// <summary>A request to an inference engine failed, or its answer broke the engine's documented schema; the sampling call (or the weight sync) that made it fails.</summary>
/// <remarks>
/// The message names the endpoint, the prompt index (for sampling), the HTTP status when there was one, and the problem. It never quotes the
/// server's response body or the request's credentials; inner exceptions may (log them with care).
/// </remarks>
public sealed class EngineRequestException : Exception
{
    /// <summary>Initializes a new instance of the <see cref="EngineRequestException"/> class.</summary>
    public EngineRequestException()
        : this("An inference-engine request failed.")
    {
    }

    /// <summary>Initializes a new instance of the <see cref="EngineRequestException"/> class with a message.</summary>
    /// <param name="message">The message.</param>
    public EngineRequestException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="EngineRequestException"/> class with a message and a cause.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public EngineRequestException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="EngineRequestException"/> class with the request's details.</summary>
    /// <param name="message">The message (it must not quote the response body).</param>
    /// <param name="endpoint">The address called.</param>
    /// <param name="promptIndex">The index of the prompt in the sampling call, or <see langword="null"/> for a request about no prompt (a weight sync).</param>
    /// <param name="statusCode">The HTTP status received, or <see langword="null"/> when none was (connection failure, timeout).</param>
    /// <param name="innerException">The cause, or <see langword="null"/>.</param>
    public EngineRequestException(string message, Uri endpoint, int? promptIndex, int? statusCode, Exception? innerException = null)
        : base(message, innerException)
    {
        Endpoint = endpoint;
        PromptIndex = promptIndex;
        StatusCode = statusCode;
    }

    /// <summary>Gets the address called, or <see langword="null"/>.</summary>
    public Uri? Endpoint { get; }

    /// <summary>Gets the index of the prompt whose group failed, or <see langword="null"/>.</summary>
    public int? PromptIndex { get; }

    /// <summary>Gets the HTTP status received, or <see langword="null"/> when none was.</summary>
    public int? StatusCode { get; }
}
