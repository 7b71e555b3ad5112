using System.Diagnostics;

namespace Vepa.Rewards;

/// <summary>Records, for each call of the inner model, its duration and the items, failures and cheats it returned.</summary>
/// <remarks>Thread-safe. Durations use the <see cref="TimeProvider"/> given at construction.</remarks>
internal sealed class MetricsRewardModel : DelegatingRewardModel
{
    private readonly RewardMetrics _metrics;
    private readonly TimeProvider _timeProvider;
    private readonly TagList _tags;

    public MetricsRewardModel(IRewardModel innerModel, RewardMetrics metrics, TimeProvider timeProvider, string? modelName)
        : base(innerModel)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(timeProvider);
        _metrics = metrics;
        _timeProvider = timeProvider;
        if (modelName is not null)
        {
            _tags.Add(RewardMetricNames.ModelTag, modelName);
        }
    }

    public override async Task<IReadOnlyList<RewardResult>> ScoreAsync(IReadOnlyList<RewardRequest> requests, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(requests);
        cancellationToken.ThrowIfCancellationRequested();
        if (requests.Count == 0)
        {
            return [];
        }

        long started = _timeProvider.GetTimestamp();
        IReadOnlyList<RewardResult> results;
        try
        {
            results = await InnerModel.ScoreAsync(requests, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            TagList errorTags = _tags;
            errorTags.Add(RewardMetricNames.ErrorTypeTag, ex.GetType().FullName);
            _metrics.CallDuration.Record(_timeProvider.GetElapsedTime(started).TotalSeconds, errorTags);
            throw;
        }

        _metrics.CallDuration.Record(_timeProvider.GetElapsedTime(started).TotalSeconds, _tags);
        RewardPipelineGuards.EnsureOneResultPerRequest(results, requests.Count, "metrics");
        _metrics.RecordResults(results, _tags);
        return results;
    }
}
