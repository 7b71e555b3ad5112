namespace Vepa.Rewards;

/// <summary>A blind reader could not produce an answer (the call failed, timed out, or returned text that could not be parsed).</summary>
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
    public BlindReaderException(string message, bool isTransient, Exception? innerException = null)
        : base(message, innerException)
    {
        IsTransient = isTransient;
    }

    /// <summary>Gets whether trying again may succeed (timeouts, HTTP 5xx or 429, dropped connections).</summary>
    public bool IsTransient { get; }
}
