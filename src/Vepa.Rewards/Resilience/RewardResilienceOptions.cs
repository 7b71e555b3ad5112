using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Vepa.Rewards;

/// <summary>Options of the recommended resilience pipeline (<see cref="ResilienceRewardModelBuilderExtensions.UseResilience(RewardModelBuilder, RewardResilienceOptions?)"/>).</summary>
/// <remarks>
/// Validated by data annotations (nested options included) and by a cross-field rule (<c>Retry.MaxDelay</c> at least <c>Retry.BaseDelay</c>),
/// both through dependency injection (<c>AddRewardResilienceOptions</c>, at start) and when passed directly (one
/// <see cref="ArgumentException"/> listing every problem).
/// </remarks>
public sealed class RewardResilienceOptions
{
    /// <summary>Gets or sets whether identical requests are scored once (the caching stage, outermost).</summary>
    /// <value>The default is <see langword="true"/>.</value>
    public bool EnableCaching { get; set; } = true;

    /// <summary>Gets or sets the caching stage's options; used when <see cref="EnableCaching"/> is <see langword="true"/>.</summary>
    /// <value>The default caches within a batch only.</value>
    [Required]
    [ValidateObjectMembers]
    public RewardCachingOptions Caching { get; set; } = new();

    /// <summary>Gets or sets the retry stage's options; <see cref="RewardRetryOptions.MaxRetries"/> = 0 leaves the stage out.</summary>
    /// <value>The default retries transient failures 3 times, from 1 s, with jitter.</value>
    [Required]
    [ValidateObjectMembers]
    public RewardRetryOptions Retry { get; set; } = new();

    /// <summary>Gets or sets the concurrency-limit stage's options.</summary>
    /// <value>The default allows 16 calls of one item each in flight.</value>
    [Required]
    [ValidateObjectMembers]
    public RewardConcurrencyLimitOptions ConcurrencyLimit { get; set; } = new();

    /// <summary>Gets or sets whether the configuration circuit breaker is added (outermost): a batch in which a share of items fails with
    /// <see cref="RewardFailureKind.Configuration"/> throws <see cref="RewardConfigurationException"/>.</summary>
    /// <value>The default is <see langword="true"/>.</value>
    public bool EnableConfigurationCircuitBreaker { get; set; } = true;

    /// <summary>Gets or sets the configuration circuit breaker's options; used when <see cref="EnableConfigurationCircuitBreaker"/> is <see langword="true"/>.</summary>
    /// <value>The default opens at half of a batch and stays open 30 seconds.</value>
    [Required]
    [ValidateObjectMembers]
    public RewardCircuitBreakerOptions ConfigurationCircuitBreaker { get; set; } = new();

    /// <summary>Gets or sets a caller's Polly pipeline that every inner call runs through (innermost, inside the timeout), or <see langword="null"/>.</summary>
    /// <value>The default is <see langword="null"/>.</value>
    /// <remarks>Use it for strategies Vepa does not add itself (a Polly circuit breaker on exceptions, hedging, chaos strategies). An exception
    /// it lets through propagates; failed results are not exceptions, so result-based strategies see <see cref="RewardResult"/> lists only
    /// through <see cref="ResiliencePipelineRewardModelBuilderExtensions.UseResiliencePipeline(RewardModelBuilder, Polly.ResiliencePipeline{IReadOnlyList{RewardResult}})"/>.</remarks>
    public Polly.ResiliencePipeline? Pipeline { get; set; }

    /// <summary>Gets or sets the timeout of each inner call (innermost stage, per call, started once the call holds a concurrency slot).</summary>
    /// <value>The default is 30 seconds. Must be in [1 ms, 1 day].</value>
    [Range(typeof(TimeSpan), RewardResilienceConstants.MinTimeoutText, RewardResilienceConstants.MaxTimeoutText)]
    public TimeSpan Timeout { get; set; } = RewardResilienceConstants.DefaultTimeout;
}
