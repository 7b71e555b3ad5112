namespace Vepa;

/// <summary>The outcome of scoring one <see cref="RewardRequest"/>: a value with named components, or a failure.</summary>
/// <remarks>
/// <para>A failed result has <see cref="Value"/> = <see cref="double.NaN"/>, never 0: the GRPO advantage kernels exclude NaN rewards
/// from group statistics and give them advantage 0, so a failed reader call cannot silently become a "wrong answer".</para>
/// <para>A failure the evidence caused (see <see cref="RewardFailureKind.Evidence"/>) is not excluded: it is a scored result with a penalty
/// value (<see cref="Penalized"/>), <see cref="IsScored"/> = <see langword="true"/>, and <see cref="PenaltyCause"/> says why.</para>
/// </remarks>
public sealed record RewardResult
{
    private static readonly IReadOnlyDictionary<string, double> NoComponents = new Dictionary<string, double>();
    private static readonly IReadOnlyDictionary<string, string> NoAnnotations = new Dictionary<string, string>();

    private RewardResult(RewardStatus status, double value, IReadOnlyDictionary<string, double> components, IReadOnlyDictionary<string, string> annotations, RewardFailure? failure, RewardFailure? penaltyCause = null)
    {
        Status = status;
        Value = value;
        Components = components;
        Annotations = annotations;
        Failure = failure;
        PenaltyCause = penaltyCause;
    }

    /// <summary>Gets whether the reward was computed.</summary>
    public RewardStatus Status { get; }

    /// <summary>Gets the reward; <see cref="double.NaN"/> when <see cref="Status"/> is <see cref="RewardStatus.Failed"/>.</summary>
    public double Value { get; }

    /// <summary>Gets the named numeric components of the reward (for the sufficiency reward: "s", "h", "gamma"), for logging.</summary>
    public IReadOnlyDictionary<string, double> Components { get; }

    /// <summary>Gets named text annotations (for the sufficiency reward: the reader's answer), for logging.</summary>
    public IReadOnlyDictionary<string, string> Annotations { get; }

    /// <summary>Gets why the reward could not be computed, or <see langword="null"/> when it was.</summary>
    public RewardFailure? Failure { get; }

    /// <summary>Gets the evidence-caused failure that this scored result penalises, or <see langword="null"/> for an ordinary score or a failure.</summary>
    /// <remarks>Set only by <see cref="Penalized"/>; <see cref="Failure"/> stays <see langword="null"/> on such a result, because it is scored.</remarks>
    public RewardFailure? PenaltyCause { get; }

    /// <summary>Gets whether the reward was computed.</summary>
    public bool IsScored => Status == RewardStatus.Scored;

    /// <summary>Gets whether this is a scored penalty for an evidence-caused failure (<see cref="PenaltyCause"/> is set).</summary>
    public bool IsPenalized => PenaltyCause is not null;

    /// <summary>Creates a scored result.</summary>
    /// <param name="value">The reward. Must be finite.</param>
    /// <param name="components">Named components, or <see langword="null"/>.</param>
    /// <param name="annotations">Named text annotations, or <see langword="null"/>.</param>
    /// <returns>The result.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="value"/> is NaN or infinite.</exception>
    public static RewardResult Scored(double value, IReadOnlyDictionary<string, double>? components = null, IReadOnlyDictionary<string, string>? annotations = null)
    {
        if (!double.IsFinite(value))
        {
            throw new ArgumentOutOfRangeException(nameof(value), value, "A scored reward must be finite; report a failure with RewardResult.Failed instead.");
        }

        return new RewardResult(RewardStatus.Scored, value, components ?? NoComponents, annotations ?? NoAnnotations, null);
    }

    /// <summary>Creates a scored result that penalises a failure the evidence caused (over-long evidence, a malformed or truncated reply to it, …).</summary>
    /// <param name="value">The penalty reward, for example the formula's minimum. Must be finite.</param>
    /// <param name="cause">Why the evidence could not be scored normally; usually of kind <see cref="RewardFailureKind.Evidence"/>.</param>
    /// <param name="components">Named components, or <see langword="null"/>.</param>
    /// <param name="annotations">Named text annotations, or <see langword="null"/>.</param>
    /// <returns>The result, with <see cref="Status"/> = <see cref="RewardStatus.Scored"/> and <see cref="PenaltyCause"/> = <paramref name="cause"/>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="cause"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="value"/> is NaN or infinite.</exception>
    public static RewardResult Penalized(double value, RewardFailure cause, IReadOnlyDictionary<string, double>? components = null, IReadOnlyDictionary<string, string>? annotations = null)
    {
        ArgumentNullException.ThrowIfNull(cause);
        if (!double.IsFinite(value))
        {
            throw new ArgumentOutOfRangeException(nameof(value), value, "A penalty reward must be finite.");
        }

        return new RewardResult(RewardStatus.Scored, value, components ?? NoComponents, annotations ?? NoAnnotations, null, cause);
    }

    /// <summary>Creates a failed result.</summary>
    /// <param name="failure">Why the reward could not be computed.</param>
    /// <param name="annotations">Named text annotations, or <see langword="null"/>.</param>
    /// <returns>The result, with <see cref="Value"/> = <see cref="double.NaN"/>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="failure"/> is <see langword="null"/>.</exception>
    public static RewardResult Failed(RewardFailure failure, IReadOnlyDictionary<string, string>? annotations = null)
    {
        ArgumentNullException.ThrowIfNull(failure);
        return new RewardResult(RewardStatus.Failed, double.NaN, NoComponents, annotations ?? NoAnnotations, failure);
    }

    /// <summary>Creates a failed result.</summary>
    /// <param name="reason">A human-readable reason, safe to log.</param>
    /// <param name="isTransient">Whether trying again may succeed.</param>
    /// <param name="exception">The exception that caused the failure, if any.</param>
    /// <returns>The result, with <see cref="Value"/> = <see cref="double.NaN"/>.</returns>
    /// <exception cref="ArgumentException"><paramref name="reason"/> is null or empty.</exception>
    public static RewardResult Failed(string reason, bool isTransient, Exception? exception = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(reason);
        return Failed(new RewardFailure(reason, isTransient, exception));
    }

    /// <summary>Returns the status, the value and the components, and the reason of a failure or penalty; never annotations or exceptions.</summary>
    /// <returns>For example <c>Scored 0.75 (s=1, h=1, gamma=0.75)</c> or <c>Failed: Infrastructure (transient): …</c>.</returns>
    /// <remarks>Annotations (the reader's raw reply) and exceptions are left out: a server may fill them with anything, echoed credentials included.</remarks>
    public override string ToString()
    {
        if (Failure is { } failure)
        {
            return $"Failed: {failure}";
        }

        string components = Components.Count == 0
            ? string.Empty
            : " (" + string.Join(", ", Components.Select(c => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{c.Key}={c.Value:R}"))) + ")";
        string value = Value.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
        return PenaltyCause is { } cause ? $"Penalized {value}{components}: {cause}" : $"Scored {value}{components}";
    }
}
