using System.Diagnostics;
using Polly;
using Polly.Retry;

namespace Vepa.Rewards;

/// <summary>
/// Sends the items whose results should be retried (by default: transient failures) to the inner model again, up to
/// <c>MaxRetries</c> times with exponential backoff (Polly's retry strategy), and merges the new results in place.
/// </summary>
/// <remarks>
/// Thread-safe. An item that still fails after more than one attempt keeps its last failure, with " (after N attempts)" appended to the
/// reason. Each re-sent item adds one to the <see cref="RewardMetricNames.Retries"/> counter.
/// </remarks>
internal sealed class RetryingRewardModel : DelegatingRewardModel
{
    private readonly ResiliencePipeline<int>? _pipeline;
    private readonly Func<RewardResult, bool> _shouldRetry;
    private readonly RewardMetrics _metrics;

    public RetryingRewardModel(IRewardModel innerModel, RewardRetryOptions options, TimeProvider timeProvider, RewardMetrics metrics)
        : base(innerModel)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(metrics);
        MaxRetries = options.MaxRetries;
        _shouldRetry = options.ShouldRetry ?? RewardResilienceConstants.IsTransientFailure;
        _metrics = metrics;
        if (options.MaxRetries > 0)
        {
            _pipeline = new ResiliencePipelineBuilder<int> { TimeProvider = timeProvider }
                .AddRetry(new RetryStrategyOptions<int>
                {
                    MaxRetryAttempts = options.MaxRetries,
                    BackoffType = DelayBackoffType.Exponential,
                    Delay = options.BaseDelay,
                    MaxDelay = options.MaxDelay,
                    UseJitter = options.UseJitter,

                    // The callback returns how many items still want a retry; exceptions are not retried (they are not per-item failures).
                    ShouldHandle = static args => ValueTask.FromResult(args.Outcome.Exception is null && args.Outcome.Result > 0),
                })
                .Build();
        }
    }

    public int MaxRetries { get; }

    public override async Task<IReadOnlyList<RewardResult>> ScoreAsync(IReadOnlyList<RewardRequest> requests, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(requests);
        cancellationToken.ThrowIfCancellationRequested();
        if (requests.Count == 0)
        {
            return [];
        }

        if (_pipeline is null)
        {
            IReadOnlyList<RewardResult> results = await InnerModel.ScoreAsync(requests, cancellationToken).ConfigureAwait(false);
            RewardPipelineGuards.EnsureOneResultPerRequest(results, requests.Count, "retry");
            return results;
        }

        var state = new RetryState(this, requests);
        await _pipeline.ExecuteAsync(static (state, token) => state.RunAttemptAsync(token), state, cancellationToken).ConfigureAwait(false);
        return state.Finish();
    }

    /// <summary>The results of one batch across attempts; used by one call at a time.</summary>
    private sealed class RetryState
    {
        private readonly RetryingRewardModel _owner;
        private readonly IReadOnlyList<RewardRequest> _requests;
        private readonly RewardResult[] _results;
        private readonly int[] _attempts;
        private List<int> _pending;

        public RetryState(RetryingRewardModel owner, IReadOnlyList<RewardRequest> requests)
        {
            _owner = owner;
            _requests = requests;
            _results = new RewardResult[requests.Count];
            _attempts = new int[requests.Count];
            _pending = [.. Enumerable.Range(0, requests.Count)];
        }

        public async ValueTask<int> RunAttemptAsync(CancellationToken cancellationToken)
        {
            bool isRetry = _attempts[_pending[0]] > 0;
            var batch = new RewardRequest[_pending.Count];
            for (int i = 0; i < batch.Length; i++)
            {
                batch[i] = _requests[_pending[i]];
            }

            if (isRetry)
            {
                _owner._metrics.Retries.Add(batch.Length);
            }

            IReadOnlyList<RewardResult> results = await _owner.InnerModel.ScoreAsync(batch, cancellationToken).ConfigureAwait(false);
            RewardPipelineGuards.EnsureOneResultPerRequest(results, batch.Length, "retry");

            var stillPending = new List<int>();
            for (int i = 0; i < batch.Length; i++)
            {
                int index = _pending[i];
                _results[index] = results[i];
                _attempts[index]++;
                if (_owner._shouldRetry(results[i]))
                {
                    stillPending.Add(index);
                }
            }

            _pending = stillPending;
            return stillPending.Count;
        }

        public RewardResult[] Finish()
        {
            for (int i = 0; i < _results.Length; i++)
            {
                RewardResult result = _results[i];
                Debug.Assert(result is not null, "Every item was scored at least once.");
                if (result.Failure is { } failure && _attempts[i] > 1)
                {
                    _results[i] = RewardResult.Failed(
                        failure with { Reason = $"{failure.Reason} (after {_attempts[i]} attempts)" },
                        result.Annotations);
                }
            }

            return _results;
        }
    }
}
