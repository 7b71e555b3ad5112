namespace Vepa;

/// <summary>Why a reward could not be computed.</summary>
/// <param name="Reason">A human-readable reason, safe to log (it never contains credentials, response bodies or client exception messages).</param>
/// <param name="IsTransient">Whether trying again may succeed (timeouts, HTTP 5xx / 429, dropped connections).</param>
/// <param name="Exception">The exception that caused the failure, if any. Its message and inner exceptions may quote a server's reply; log it at Trace only.</param>
/// <param name="Kind">Who caused the failure; the default is <see cref="RewardFailureKind.Infrastructure"/>.</param>
public sealed record RewardFailure(string Reason, bool IsTransient, Exception? Exception = null, RewardFailureKind Kind = RewardFailureKind.Infrastructure)
{
    /// <summary>Returns the kind, whether the failure is transient, and the reason; never the exception.</summary>
    /// <returns>For example <c>Infrastructure (transient): The chat endpoint answered HTTP 503 (ServiceUnavailable).</c>.</returns>
    public override string ToString() => $"{Kind} ({(IsTransient ? "transient" : "permanent")}): {Reason}";
}
