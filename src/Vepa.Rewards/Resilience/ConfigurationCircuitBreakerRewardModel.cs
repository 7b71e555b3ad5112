using System.Globalization;

namespace Vepa.Rewards;

/// <summary>Throws <see cref="RewardConfigurationException"/> when a share of a batch fails with <see cref="RewardFailureKind.Configuration"/>, and keeps failing fast for a while.</summary>
/// <remarks>Thread-safe. The clock is the <see cref="TimeProvider"/> given at construction.</remarks>
internal sealed class ConfigurationCircuitBreakerRewardModel : DelegatingRewardModel
{
    private readonly double _share;
    private readonly int _minimumFailures;
    private readonly TimeSpan _breakDuration;
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
        int failed = 0;
        foreach (RewardResult result in results)
        {
            if (result.Failure is { Kind: RewardFailureKind.Configuration } failure)
            {
                failed++;
                byReason[failure.Reason] = byReason.TryGetValue(failure.Reason, out var entry) ? (entry.Count + 1, entry.First) : (1, failure);
            }
        }

        if (failed >= _minimumFailures && failed >= _share * results.Count)
        {
            RewardFailure cause = byReason.Values.OrderByDescending(v => v.Count).First().First;
            var exception = new RewardConfigurationException(
                string.Create(
                    CultureInfo.InvariantCulture,
                    $"The reward pipeline is misconfigured: {failed} of {results.Count} items failed with a configuration failure (the circuit opens at {_share:P0}). Cause: {cause.Reason}"),
                cause,
                failed,
                results.Count);
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
