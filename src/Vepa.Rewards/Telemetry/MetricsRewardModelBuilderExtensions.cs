using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;

namespace Vepa.Rewards;

/// <summary>Adds <c>System.Diagnostics.Metrics</c> instruments to a reward pipeline.</summary>
public static class MetricsRewardModelBuilderExtensions
{
    /// <summary>Records item, failure and cheat counts and the duration of each call to the stages inside this one.</summary>
    /// <param name="builder">The pipeline builder.</param>
    /// <param name="meterFactory">The meter factory; <see langword="null"/> to take it from the service provider, or a static meter when there is none.</param>
    /// <param name="modelName">A name added as the <see cref="RewardMetricNames.ModelTag"/> tag to every measurement (to tell keyed pipelines apart), or <see langword="null"/>.</param>
    /// <returns>The builder.</returns>
    /// <remarks>
    /// <para>
    /// The meter is <see cref="RewardMetricNames.MeterName"/>; the instruments are <see cref="RewardMetricNames.Items"/>,
    /// <see cref="RewardMetricNames.Failures"/>, <see cref="RewardMetricNames.Cheats"/> (scored items whose component
    /// <see cref="RewardComponentNames.Honesty"/> is 0) and <see cref="RewardMetricNames.CallDuration"/> (seconds, one measurement per call).
    /// Retries are counted by the retry stage on the same meter (<see cref="RewardMetricNames.Retries"/>).
    /// </para>
    /// <para>
    /// Where to place it: before <c>UseResilience</c> it measures whole batches as the caller sees them (final results, after retries);
    /// after it, nearer the reader, it measures each reader call (every attempt, with its latency). Durations use the service provider's
    /// <see cref="TimeProvider"/>, or <see cref="TimeProvider.System"/>.
    /// </para>
    /// </remarks>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> is <see langword="null"/>.</exception>
    public static RewardModelBuilder UseMetrics(this RewardModelBuilder builder, IMeterFactory? meterFactory = null, string? modelName = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.Use((inner, services) => new MetricsRewardModel(
            inner,
            RewardMetrics.Create(meterFactory ?? services.GetService<IMeterFactory>()),
            services.GetService<TimeProvider>() ?? TimeProvider.System,
            modelName));
    }
}
