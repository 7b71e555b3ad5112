using System.Globalization;

namespace Vepa.Rewards;

/// <summary>Throws <see cref="RewardConfigurationException"/> when a share of a batch fails with <see cref="RewardFailureKind.Configuration"/>, and keeps failing fast for a while.</summary>
/// <remarks>Thread-safe. The clock is the <see cref="TimeProvider"/> given at construction.</remarks>
internal sealed class ConfigurationCircuitBreakerRewardModel : DelegatingRewardModel
{
    private readonly double _share;
    private readonly int _minimumFailures;
    private readonly TimeSpan _breakDuration;
    private readonly double _penalizedShare;
    private readonly int _minimumPenalized;
    private readonly TimeProvider _timeProvider;
    private readonly Lock _lock = new();
    private RewardConfigurationException? _open;
    private long _openedAt;

    public ConfigurationCircuitBreakerRewardModel(IRewardModel innerModel, RewardCircuitBreakerOptions options, TimeProvider timeProvider)
        : base(innerModel)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        _share = options.FailureShare;
        _minimumFailures = options.MinimumFailures;
        _breakDuration = options.BreakDuration;
        _penalizedShare = options.PenalizedReplyShare;
        _minimumPenalized = options.MinimumPenalizedReplies;
        _timeProvider = timeProvider;
    }

    public override async Task<IReadOnlyList<RewardResult>> ScoreAsync(IReadOnlyList<RewardRequest> requests, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(requests);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_lock)
        {
            if (_open is not null)
            {
                if (_timeProvider.GetElapsedTime(_openedAt) < _breakDuration)
                {
                    throw new RewardConfigurationException(
                        $"The reward circuit is open after a configuration failure; calls fail fast for {RewardPipelineGuards.FormatDuration(_breakDuration)}. {_open.Message}",
                        _open.Cause!,
                        _open.FailedCount,
                        _open.BatchSize);
                }

                _open = null;
            }
        }

        if (requests.Count == 0)
        {
            return [];
        }

        IReadOnlyList<RewardResult> results = await InnerModel.ScoreAsync(requests, cancellationToken).ConfigureAwait(false);
        RewardPipelineGuards.EnsureOneResultPerRequest(results, requests.Count, "configuration circuit breaker");
        var byReason = new Dictionary<string, (int Count, RewardFailure First)>(StringComparer.Ordinal);
        var penaltiesByReason = new Dictionary<string, (int Count, RewardFailure First)>(StringComparer.Ordinal);
        int failed = 0;
        int penalized = 0;
        foreach (RewardResult result in results)
        {
            if (result.Failure is { Kind: RewardFailureKind.Configuration } failure)
            {
                failed++;
                byReason[failure.Reason] = byReason.TryGetValue(failure.Reason, out var entry) ? (entry.Count + 1, entry.First) : (1, failure);
            }
            else if (result.PenaltyCause is { } cause && !result.Annotations.ContainsKey(SufficiencyRewardKeys.ReaderSkipped))
            {
                penalized++;
                penaltiesByReason[cause.Reason] = penaltiesByReason.TryGetValue(cause.Reason, out var entry) ? (entry.Count + 1, entry.First) : (1, cause);
            }
        }

        RewardConfigurationException? exception = null;
        if (failed >= _minimumFailures && failed >= _share * results.Count)
        {
            RewardFailure cause = byReason.Values.OrderByDescending(v => v.Count).First().First;
            exception = new RewardConfigurationException(
                string.Create(
                    CultureInfo.InvariantCulture,
                    $"The reward pipeline is misconfigured: {failed} of {results.Count} items failed with a configuration failure (the circuit opens at {_share:P0}). Cause: {cause.Reason}"),
                cause,
                failed,
                results.Count);
        }
        else if (penalized >= _minimumPenalized && penalized >= _penalizedShare * results.Count)
        {
            RewardFailure cause = penaltiesByReason.Values.OrderByDescending(v => v.Count).First().First;
            exception = new RewardConfigurationException(
                string.Create(
                    CultureInfo.InvariantCulture,
                    $"The reward pipeline is misconfigured: the reader's reply failed for {penalized} of {results.Count} items (the circuit opens at {_penalizedShare:P0}); check the reader model, its reply format, ChatOptions.MaxOutputTokens and the evidence caps. Cause: {cause.Reason}"),
                cause,
                penalized,
                results.Count);
        }

        if (exception is not null)
        {
            lock (_lock)
            {
                _open = exception;
                _openedAt = _timeProvider.GetTimestamp();
            }

            throw exception;
        }

        return results;
    }
}
