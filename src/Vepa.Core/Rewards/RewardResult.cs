namespace Vepa;

/// <summary>The outcome of scoring one <see cref="RewardRequest"/>: a value with named components, or a failure.</summary>
/// <remarks>
/// A failed result has <see cref="Value"/> = <see cref="double.NaN"/>, never 0: the GRPO advantage kernels exclude NaN rewards
/// from group statistics and give them advantage 0, so a failed reader call cannot silently become a "wrong answer".
/// </remarks>
public sealed record RewardResult
{
    private static readonly IReadOnlyDictionary<string, double> NoComponents = new Dictionary<string, double>();
    private static readonly IReadOnlyDictionary<string, string> NoAnnotations = new Dictionary<string, string>();

    private RewardResult(RewardStatus status, double value, IReadOnlyDictionary<string, double> components, IReadOnlyDictionary<string, string> annotations, RewardFailure? failure)
    {
        Status = status;
        Value = value;
        Components = components;
        Annotations = annotations;
        Failure = failure;
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

    /// <summary>Gets whether the reward was computed.</summary>
    public bool IsScored => Status == RewardStatus.Scored;

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
}
