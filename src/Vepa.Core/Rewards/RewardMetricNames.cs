namespace Vepa;

/// <summary>Names of the meter and instruments the reward pipeline stages publish through <c>System.Diagnostics.Metrics</c>.</summary>
/// <remarks>
/// Subscribe with <c>MeterListener</c>, OpenTelemetry (<c>AddMeter(RewardMetricNames.MeterName)</c>) or <c>dotnet-counters</c>.
/// Counters count items (one rollout each), not calls; the duration histogram has one measurement per call of the stage's inner model.
/// </remarks>
public static class RewardMetricNames
{
    /// <summary>The name of the meter: <c>Vepa.Rewards</c>.</summary>
    public const string MeterName = "Vepa.Rewards";

    /// <summary>Counter of items scored (every result returned, scored or failed). Unit <c>{item}</c>. Tagged with <see cref="StatusTag"/>.</summary>
    public const string Items = "vepa.rewards.items";

    /// <summary>Counter of items whose result failed (NaN). Unit <c>{item}</c>. Tagged with <see cref="TransientTag"/> and <see cref="FailureKindTag"/>
    /// (<c>infrastructure</c> or <c>configuration</c>).</summary>
    public const string Failures = "vepa.rewards.failures";

    /// <summary>Counter of items scored as a penalty because the evidence caused the failure (<see cref="RewardResult.IsPenalized"/>), counted apart
    /// from <see cref="Failures"/>. Unit <c>{item}</c>. Tagged with <see cref="FailureKindTag"/> (<c>evidence</c>).</summary>
    public const string Penalties = "vepa.rewards.penalties";

    /// <summary>Counter of item retries: each time a failed item is sent to the inner model again counts one. Unit <c>{item}</c>.</summary>
    public const string Retries = "vepa.rewards.retries";

    /// <summary>Counter of scored items judged to cheat (component <see cref="RewardComponentNames.Honesty"/> = 0). Unit <c>{item}</c>.</summary>
    public const string Cheats = "vepa.rewards.cheats";

    /// <summary>Histogram of the duration of each inner call, in seconds. Unit <c>s</c>. Tagged with <see cref="ErrorTypeTag"/> when the call threw.</summary>
    public const string CallDuration = "vepa.rewards.call.duration";

    /// <summary>Tag with the name given to a metered pipeline, when one was given.</summary>
    public const string ModelTag = "vepa.rewards.model";

    /// <summary>Tag on <see cref="Items"/>: <c>scored</c> or <c>failed</c>.</summary>
    public const string StatusTag = "vepa.rewards.status";

    /// <summary>Tag on <see cref="Failures"/>: <see langword="true"/> when the failure is transient.</summary>
    public const string TransientTag = "vepa.rewards.transient";

    /// <summary>Tag on <see cref="Failures"/> and <see cref="Penalties"/>: the <see cref="RewardFailureKind"/> in lower case
    /// (<c>infrastructure</c>, <c>evidence</c> or <c>configuration</c>).</summary>
    public const string FailureKindTag = "vepa.rewards.failure.kind";

    /// <summary>Tag on <see cref="CallDuration"/> when a call threw: the exception's full type name (<c>_OTHER</c> is never used).</summary>
    public const string ErrorTypeTag = "error.type";
}
