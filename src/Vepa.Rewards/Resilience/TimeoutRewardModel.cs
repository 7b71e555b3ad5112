using Polly;
using Polly.Timeout;

namespace Vepa.Rewards;

/// <summary>
/// Bounds each call of the inner model with Polly's timeout strategy: a call that has not finished after the timeout is cancelled and every
/// item it carried gets a transient <see cref="RewardStatus.Failed"/> result ("… timed out after …"), even if the inner model ignores cancellation.
/// </summary>
/// <remarks>Thread-safe. The clock is the <see cref="TimeProvider"/> given at construction.</remarks>
internal sealed class TimeoutRewardModel : DelegatingRewardModel
{
    private readonly ResiliencePipeline _pipeline;
    private readonly string _reason;

    public TimeoutRewardModel(IRewardModel innerModel, TimeSpan timeout, TimeProvider timeProvider)
        : base(innerModel)
    {
        ArgumentNullException.ThrowIfNull(timeProvider);
        Timeout = timeout;
        _reason = $"The reward model call timed out after {RewardPipelineGuards.FormatDuration(timeout)}.";

        // The generator form accepts the whole [1 ms, 1 day] range (the static Timeout option starts at 10 ms).
        _pipeline = new ResiliencePipelineBuilder { TimeProvider = timeProvider }
            .AddTimeout(new TimeoutStrategyOptions { TimeoutGenerator = _ => ValueTask.FromResult(timeout) })
            .Build();
    }

    public TimeSpan Timeout { get; }

    public override async Task<IReadOnlyList<RewardResult>> ScoreAsync(IReadOnlyList<RewardRequest> requests, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(requests);
        cancellationToken.ThrowIfCancellationRequested();
        int count = requests.Count;
        if (count == 0)
        {
            return [];
        }

        var call = new CallState(InnerModel, requests);
        try
        {
            IReadOnlyList<RewardResult> results = await _pipeline.ExecuteAsync(static (state, token) => state.RunAsync(token), call, cancellationToken).ConfigureAwait(false);
            RewardPipelineGuards.EnsureOneResultPerRequest(results, count, "timeout");
            return results;
        }
        catch (TimeoutRejectedException) when (!cancellationToken.IsCancellationRequested)
        {
            call.ObserveLateFault();
            var failed = new RewardResult[count];
            Array.Fill(failed, RewardResult.Failed(_reason, isTransient: true));
            return failed;
        }
    }

    /// <summary>One call of the inner model, kept so that a call abandoned at the timeout has its late fault observed.</summary>
    private sealed class CallState(IRewardModel inner, IReadOnlyList<RewardRequest> requests)
    {
        private Task<IReadOnlyList<RewardResult>>? _call;

        public ValueTask<IReadOnlyList<RewardResult>> RunAsync(CancellationToken token)
        {
            _call = inner.ScoreAsync(requests, token);

            // WaitAsync also ends the wait for an inner model that ignores its token; Polly then reports the timeout.
            return new ValueTask<IReadOnlyList<RewardResult>>(_call.WaitAsync(token));
        }

        public void ObserveLateFault()
        {
            if (_call is { IsCompleted: false } call)
            {
                _ = call.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            }
        }
    }
}
