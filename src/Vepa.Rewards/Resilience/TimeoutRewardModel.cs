namespace Vepa.Rewards;

/// <summary>
/// Bounds each call of the inner model: a call that has not finished after the timeout is cancelled and every item it carried gets a
/// transient <see cref="RewardStatus.Failed"/> result ("… timed out after …"), even if the inner model ignores cancellation.
/// </summary>
/// <remarks>Thread-safe. The clock is the <see cref="TimeProvider"/> given at construction.</remarks>
internal sealed class TimeoutRewardModel : DelegatingRewardModel
{
    private readonly TimeProvider _timeProvider;
    private readonly string _reason;

    public TimeoutRewardModel(IRewardModel innerModel, TimeSpan timeout, TimeProvider timeProvider)
        : base(innerModel)
    {
        ArgumentNullException.ThrowIfNull(timeProvider);
        Timeout = timeout;
        _timeProvider = timeProvider;
        _reason = $"The reward model call timed out after {RewardPipelineGuards.FormatDuration(timeout)}.";
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

        using var timeoutSource = new CancellationTokenSource(Timeout, _timeProvider);
        using var linkedSource = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeoutSource.Token);
        Task<IReadOnlyList<RewardResult>>? call = null;
        try
        {
            call = InnerModel.ScoreAsync(requests, linkedSource.Token);

            // WaitAsync also ends the wait for an inner model that ignores its token.
            IReadOnlyList<RewardResult> results = await call.WaitAsync(linkedSource.Token).ConfigureAwait(false);
            RewardPipelineGuards.EnsureOneResultPerRequest(results, count, "timeout");
            return results;
        }
        catch (OperationCanceledException) when (timeoutSource.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            ObserveLateFault(call);
            var failed = new RewardResult[count];
            Array.Fill(failed, RewardResult.Failed(_reason, isTransient: true));
            return failed;
        }
    }

    private static void ObserveLateFault(Task? call)
    {
        if (call is { IsCompleted: false })
        {
            _ = call.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
    }
}
