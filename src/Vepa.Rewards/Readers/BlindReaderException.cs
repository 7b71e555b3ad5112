namespace Vepa.Rewards;

/// <summary>A blind reader could not produce an answer (the call failed, timed out, or returned text that could not be parsed).</summary>
/// <remarks>
/// <see cref="Exception.Message"/> is safe to log: readers build it from structured facts only. The inner exception (for example the HTTP
/// client's) may quote a server's response, so <see cref="ToString"/> names its type but never prints its message.
/// </remarks>
public sealed class BlindReaderException : Exception
{
    /// <summary>Initializes a new instance of the <see cref="BlindReaderException"/> class.</summary>
    public BlindReaderException()
    {
    }

    /// <summary>Initializes a new instance of the <see cref="BlindReaderException"/> class.</summary>
    /// <param name="message">The reason, safe to log.</param>
    public BlindReaderException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="BlindReaderException"/> class.</summary>
    /// <param name="message">The reason, safe to log.</param>
    /// <param name="innerException">The underlying exception.</param>
    public BlindReaderException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="BlindReaderException"/> class.</summary>
    /// <param name="message">The reason, safe to log.</param>
    /// <param name="isTransient">Whether trying again may succeed.</param>
    /// <param name="innerException">The underlying exception.</param>
    /// <remarks>The <see cref="Kind"/> is <see cref="RewardFailureKind.Infrastructure"/>.</remarks>
    public BlindReaderException(string message, bool isTransient, Exception? innerException = null)
        : base(message, innerException)
    {
        IsTransient = isTransient;
    }

    /// <summary>Initializes a new instance of the <see cref="BlindReaderException"/> class.</summary>
    /// <param name="message">The reason, safe to log.</param>
    /// <param name="kind">Who caused the failure: the infrastructure, the evidence or the configuration.</param>
    /// <param name="isTransient">Whether trying again may succeed.</param>
    /// <param name="innerException">The underlying exception.</param>
    public BlindReaderException(string message, RewardFailureKind kind, bool isTransient, Exception? innerException = null)
        : base(message, innerException)
    {
        Kind = kind;
        IsTransient = isTransient;
    }

    /// <summary>Gets whether trying again may succeed (timeouts, HTTP 5xx or 429, dropped connections).</summary>
    public bool IsTransient { get; }

    /// <summary>Gets who caused the failure.</summary>
    /// <value>The default is <see cref="RewardFailureKind.Infrastructure"/>.</value>
    public RewardFailureKind Kind { get; }

    /// <summary>
    /// Gets whether the reader did answer and the failure is in its reply (malformed, or stopped by a content filter): the reader is
    /// up, which the rule that charges repeated timeouts to the evidence needs to know. Vepa's chat reader sets it; a host's reader
    /// sets it only for a reply it received and could not use, never for a failed call, or an outage would be taken for the reader
    /// answering.
    /// </summary>
    /// <value>The default is <see langword="false"/>.</value>
    public bool IsReply { get; init; }

    /// <summary>Returns the type, the message and the stack trace; the inner exception is named by type only, because its message may quote a server's response.</summary>
    /// <returns>The text.</returns>
    public override string ToString() => SafeExceptionText.Format(this);
}
