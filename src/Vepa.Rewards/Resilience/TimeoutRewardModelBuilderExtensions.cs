using Microsoft.Extensions.DependencyInjection;

namespace Vepa.Rewards;

/// <summary>Adds a per-call timeout to a reward pipeline.</summary>
public static class TimeoutRewardModelBuilderExtensions
{
    /// <summary>Bounds each call of the inner model: items of a call that takes longer than <paramref name="timeout"/> get a transient failure.</summary>
    /// <param name="builder">The pipeline builder.</param>
    /// <param name="timeout">The longest one inner call may take, in [1 ms, 1 day].</param>
    /// <returns>The builder.</returns>
    /// <remarks>
    /// <para>
    /// The failure reason reads "The reward model call timed out after 30 s." and is transient, so a retry stage outside this one retries it.
    /// The inner call is cancelled; its result is not waited for, even when the inner model ignores cancellation.
    /// </para>
    /// <para>
    /// Place it inside a concurrency limit (as <see cref="ResilienceRewardModelBuilderExtensions.UseResilience(RewardModelBuilder, RewardResilienceOptions?)"/> does)
    /// so that the clock starts when a call holds its slot, not while it waits for one. The clock is the <see cref="TimeProvider"/> from the
    /// service provider, or <see cref="TimeProvider.System"/>.
    /// </para>
    /// </remarks>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is outside [1 ms, 1 day].</exception>
    public static RewardModelBuilder UseTimeout(this RewardModelBuilder builder, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ThrowIfInvalidTimeout(timeout, nameof(timeout));
        return builder.Use((inner, services) => new TimeoutRewardModel(inner, timeout, services.GetService<TimeProvider>() ?? TimeProvider.System));
    }

    internal static void ThrowIfInvalidTimeout(TimeSpan timeout, string paramName)
    {
        if (timeout < RewardResilienceConstants.MinTimeout || timeout > RewardResilienceConstants.MaxTimeout)
        {
            throw new ArgumentOutOfRangeException(
                paramName,
                timeout,
                $"The timeout must be in [{RewardResilienceConstants.MinTimeout:c}, {RewardResilienceConstants.MaxTimeout:c}]; got {timeout:c}.");
        }
    }
}
