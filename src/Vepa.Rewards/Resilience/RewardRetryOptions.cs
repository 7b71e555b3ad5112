using System.ComponentModel.DataAnnotations;

namespace Vepa.Rewards;

/// <summary>Options of the retry stage (<see cref="RetryRewardModelBuilderExtensions.UseRetry(RewardModelBuilder, RewardRetryOptions?)"/>).</summary>
/// <remarks>
/// <para>
/// The delay before retry <c>k</c> (1-based) is <see cref="BaseDelay"/> * 2^(k-1), capped at <see cref="MaxDelay"/>; with
/// <see cref="UseJitter"/> the delays are randomised around that curve (Polly's decorrelated jitter) so that many clients do not retry
/// in lockstep. The stage copies the values when it is added; changing the options afterwards has no effect on it.
/// </para>
/// <para>Cross-field rule: <see cref="MaxDelay"/> must be at least <see cref="BaseDelay"/>.</para>
/// </remarks>
public sealed class RewardRetryOptions
{
    /// <summary>Gets or sets how many times a failed item may be sent again; 0 disables retrying.</summary>
    /// <value>The default is 3. Must be in [0, 100].</value>
    [Range(0, RewardResilienceConstants.MaxMaxRetries)]
    public int MaxRetries { get; set; } = RewardResilienceConstants.DefaultMaxRetries;

    /// <summary>Gets or sets the delay before the first retry; later retries double it.</summary>
    /// <value>The default is 1 second. Must be in [0, 10 min].</value>
    [Range(typeof(TimeSpan), RewardResilienceConstants.MinDelayText, RewardResilienceConstants.MaxBaseDelayText)]
    public TimeSpan BaseDelay { get; set; } = RewardResilienceConstants.DefaultBaseDelay;

    /// <summary>Gets or sets the longest delay between two attempts.</summary>
    /// <value>The default is 30 seconds. Must be in [0, 1 h] and at least <see cref="BaseDelay"/>.</value>
    [Range(typeof(TimeSpan), RewardResilienceConstants.MinDelayText, RewardResilienceConstants.MaxMaxDelayText)]
    public TimeSpan MaxDelay { get; set; } = RewardResilienceConstants.DefaultMaxDelay;

    /// <summary>Gets or sets whether the delays are randomised.</summary>
    /// <value>The default is <see langword="true"/>.</value>
    public bool UseJitter { get; set; } = RewardResilienceConstants.DefaultUseJitter;

    /// <summary>Gets or sets which results are sent again; called for every result of every attempt, from any thread.</summary>
    /// <value>The default, <see langword="null"/>, retries failed results whose <see cref="RewardFailure.IsTransient"/> is <see langword="true"/>.</value>
    public Func<RewardResult, bool>? ShouldRetry { get; set; }
}
