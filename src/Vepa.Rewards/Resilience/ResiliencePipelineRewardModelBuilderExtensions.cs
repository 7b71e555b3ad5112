using Polly;

namespace Vepa.Rewards;

/// <summary>Runs the calls of a reward pipeline through a caller's Polly <see cref="ResiliencePipeline"/>.</summary>
public static class ResiliencePipelineRewardModelBuilderExtensions
{
    /// <summary>Runs every call of the stages inside this one through <paramref name="pipeline"/> (for example a Polly circuit breaker, hedging or chaos strategy).</summary>
    /// <param name="builder">The pipeline builder.</param>
    /// <param name="pipeline">The Polly pipeline; it sees the call's exceptions (failed items are results, not exceptions).</param>
    /// <returns>The builder.</returns>
    /// <remarks>Cancellation flows from the caller's token through the pipeline's token to the inner model.</remarks>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> or <paramref name="pipeline"/> is <see langword="null"/>.</exception>
    public static RewardModelBuilder UseResiliencePipeline(this RewardModelBuilder builder, ResiliencePipeline pipeline)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(pipeline);
        return builder.Use(inner => new ResiliencePipelineRewardModel(inner, pipeline));
    }

    /// <summary>Runs every call of the stages inside this one through <paramref name="pipeline"/>, whose strategies can also judge the results
    /// (for example retry while a result list holds transient failures).</summary>
    /// <param name="builder">The pipeline builder.</param>
    /// <param name="pipeline">The Polly pipeline over the list of results of one call.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> or <paramref name="pipeline"/> is <see langword="null"/>.</exception>
    public static RewardModelBuilder UseResiliencePipeline(this RewardModelBuilder builder, ResiliencePipeline<IReadOnlyList<RewardResult>> pipeline)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(pipeline);
        return builder.Use(inner => new ResiliencePipelineRewardModel(inner, pipeline));
    }
}
