using System.ComponentModel.DataAnnotations;

namespace Vepa.Rewards;

/// <summary>Options of the configuration circuit breaker (<see cref="ConfigurationCircuitBreakerRewardModelBuilderExtensions.UseConfigurationCircuitBreaker"/>).</summary>
/// <remarks>
/// After each batch the stage counts the items whose failure is <see cref="RewardFailureKind.Configuration"/>. When at least
/// <see cref="MinimumFailures"/> items and at least <see cref="FailureShare"/> of the batch failed that way, the circuit opens: the call throws a
/// <see cref="RewardConfigurationException"/> naming the cause, and every call during <see cref="BreakDuration"/> throws it again without
/// calling the inner model. Below the share, the configuration failures stay failed results (NaN), counted apart in the metrics.
/// </remarks>
public sealed class RewardCircuitBreakerOptions
{
    /// <summary>Gets or sets the share of a batch that must fail with a configuration failure to open the circuit.</summary>
    /// <value>The default is 0.5. Must be in (0, 1].</value>
    [Range(0.0, 1.0, MinimumIsExclusive = true)]
    public double FailureShare { get; set; } = 0.5;

    /// <summary>Gets or sets the fewest configuration failures in a batch that can open the circuit.</summary>
    /// <value>The default is 1. Must be in [1, 1 000 000].</value>
    [Range(1, 1_000_000)]
    public int MinimumFailures { get; set; } = 1;

    /// <summary>Gets or sets the share of a batch whose reader replies were penalised (malformed, ambiguous, truncated, filtered) from which
    /// the circuit opens too: when every reply fails, the reader or its settings are wrong (a model that ignores the reply format, an
    /// output-token limit too low for a reasoning reader), not the evidence.</summary>
    /// <value>The default is 1 (every item). Must be in (0, 1]. Evidence over a cap never counts: the reader was not called.</value>
    [Range(0.0, 1.0, MinimumIsExclusive = true)]
    public double PenalizedReplyShare { get; set; } = 1.0;

    /// <summary>Gets or sets the fewest penalised replies in a batch that can open the circuit through <see cref="PenalizedReplyShare"/>.</summary>
    /// <value>The default is 16, so small batches never stop on it. Must be in [1, 1 000 000].</value>
    [Range(1, 1_000_000)]
    public int MinimumPenalizedReplies { get; set; } = 16;

    /// <summary>Gets or sets how long the circuit stays open (calls fail fast) after it opened.</summary>
    /// <value>The default is 30 seconds. Must be in [0, 1 day]; 0 closes it at once (each batch is judged on its own).</value>
    [Range(typeof(TimeSpan), "00:00:00", "1.00:00:00")]
    public TimeSpan BreakDuration { get; set; } = TimeSpan.FromSeconds(30);
}
