using System.Text;

namespace Vepa;

/// <summary>The reward pipeline is misconfigured: too large a share of a batch failed with <see cref="RewardFailureKind.Configuration"/>
/// (HTTP 401, 403, 404, a 400 that is not about the context length, a wrong model name), so the batch is neither scored nor excluded.</summary>
/// <remarks>Thrown by the configuration circuit breaker (<c>UseConfigurationCircuitBreaker</c> in Vepa.Rewards, or any reward model) and rethrown by the GRPO trainer, which
/// never turns it into failed (NaN) rewards).
/// The message names the cause (a failure reason, which is safe to log); <see cref="ToString"/> never prints inner exception messages.</remarks>
public sealed class RewardConfigurationException : Exception
{
    /// <summary>Initializes a new instance of the <see cref="RewardConfigurationException"/> class.</summary>
    public RewardConfigurationException()
        : base("The reward pipeline is misconfigured.")
    {
    }

    /// <summary>Initializes a new instance of the <see cref="RewardConfigurationException"/> class.</summary>
    /// <param name="message">The message, safe to log.</param>
    public RewardConfigurationException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="RewardConfigurationException"/> class.</summary>
    /// <param name="message">The message, safe to log.</param>
    /// <param name="innerException">The underlying exception.</param>
    public RewardConfigurationException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="RewardConfigurationException"/> class.</summary>
    /// <param name="message">The message, safe to log.</param>
    /// <param name="cause">The most frequent configuration failure of the batch.</param>
    /// <param name="failedCount">How many items of the batch failed with a configuration failure.</param>
    /// <param name="batchSize">How many items the batch had.</param>
    public RewardConfigurationException(string message, RewardFailure cause, int failedCount, int batchSize)
        : base(message, cause?.Exception)
    {
        ArgumentNullException.ThrowIfNull(cause);
        Cause = cause;
        FailedCount = failedCount;
        BatchSize = batchSize;
    }

    /// <summary>Gets the most frequent configuration failure of the batch that opened the circuit, or <see langword="null"/>.</summary>
    public RewardFailure? Cause { get; }

    /// <summary>Gets how many items of that batch failed with a configuration failure.</summary>
    public int FailedCount { get; }

    /// <summary>Gets how many items that batch had.</summary>
    public int BatchSize { get; }

    /// <summary>Returns the type, the message and the stack trace; inner exceptions are named by type only.</summary>
    /// <returns>The text.</returns>
    public override string ToString()
    {
        var builder = new StringBuilder(GetType().FullName).Append(": ").Append(Message);
        for (Exception? inner = InnerException; inner is not null; inner = inner.InnerException)
        {
            builder.Append(" ---> ").Append(inner.GetType().FullName).Append(" (message not shown: it may quote the server's response)");
        }

        if (StackTrace is { } stackTrace)
        {
            builder.Append(Environment.NewLine).Append(stackTrace);
        }

        return builder.ToString();
    }
}
