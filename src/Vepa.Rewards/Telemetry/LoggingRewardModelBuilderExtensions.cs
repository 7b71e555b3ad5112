using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Vepa.Rewards;

/// <summary>Adds logging to a reward pipeline.</summary>
public static class LoggingRewardModelBuilderExtensions
{
    /// <summary>Logs each batch scored by the stages inside this one.</summary>
    /// <param name="builder">The pipeline builder.</param>
    /// <param name="loggerFactory">The logger factory; <see langword="null"/> to take it from the service provider (no logging when there is none).</param>
    /// <returns>The builder.</returns>
    /// <remarks>
    /// <para>Levels: batch start and finish (counts, elapsed time) at Debug; failures at Warning, one entry per distinct reason with its count and
    /// first index; a batch that throws at Error with the exception's type name; requests (question, gold answer, choices, evidence), results and
    /// exception details at Trace only. Nothing that could hold credentials is logged above Trace.</para>
    /// <para>The category is <c>Vepa.Rewards.LoggingRewardModel</c>. Elapsed times use the service provider's <see cref="TimeProvider"/>, or <see cref="TimeProvider.System"/>.</para>
    /// </remarks>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> is <see langword="null"/>.</exception>
    public static RewardModelBuilder UseLogging(this RewardModelBuilder builder, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.Use((inner, services) =>
        {
            ILoggerFactory factory = loggerFactory ?? services.GetService<ILoggerFactory>() ?? NullLoggerFactory.Instance;
            return factory == NullLoggerFactory.Instance
                ? inner
                : new LoggingRewardModel(inner, factory.CreateLogger<LoggingRewardModel>(), services.GetService<TimeProvider>() ?? TimeProvider.System);
        });
    }
}
