namespace Vepa;

/// <summary>Why a reward could not be computed.</summary>
/// <param name="Reason">A human-readable reason, safe to log (it never contains credentials).</param>
/// <param name="IsTransient">Whether trying again may succeed (timeouts, HTTP 5xx / 429, dropped connections).</param>
/// <param name="Exception">The exception that caused the failure, if any.</param>
public sealed record RewardFailure(string Reason, bool IsTransient, Exception? Exception = null);
