namespace Vepa.Rewards;

/// <summary>
/// Cuts each batch into chunks of at most <see cref="MaxBatchSize"/> consecutive items and scores them through the inner model with at most
/// <see cref="MaxConcurrency"/> calls in flight, counted over every batch this instance scores at the same time.
/// </summary>
/// <remarks>
/// Thread-safe. Results keep request order. When the caller cancels, waiting chunks stop waiting and in-flight calls see the cancellation.
/// When one chunk's call throws, the other chunks are cancelled and the exception propagates.
/// </remarks>
internal sealed class ConcurrencyLimitingRewardModel : DelegatingRewardModel
{
    private readonly SemaphoreSlim _slots;

    public ConcurrencyLimitingRewardModel(IRewardModel innerModel, int maxConcurrency, int maxBatchSize)
        : base(innerModel)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxConcurrency, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBatchSize, 1);
        MaxConcurrency = maxConcurrency;
        MaxBatchSize = maxBatchSize;
        _slots = new SemaphoreSlim(maxConcurrency, maxConcurrency);
    }

    public int MaxConcurrency { get; }

    public int MaxBatchSize { get; }

    public override async Task<IReadOnlyList<RewardResult>> ScoreAsync(IReadOnlyList<RewardRequest> requests, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(requests);
        cancellationToken.ThrowIfCancellationRequested();
        int count = requests.Count;
        if (count == 0)
        {
            return [];
        }

        var results = new RewardResult[count];
        int chunkCount = (count + MaxBatchSize - 1) / MaxBatchSize;
        using var stopSource = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var chunks = new Task[chunkCount];
        for (int c = 0; c < chunkCount; c++)
        {
            int start = c * MaxBatchSize;
            chunks[c] = ScoreChunkAsync(requests, start, Math.Min(MaxBatchSize, count - start), results, stopSource);
        }

        await Task.WhenAll(chunks).ConfigureAwait(false);
        return results;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _slots.Dispose();
        }

        base.Dispose(disposing);
    }

    private async Task ScoreChunkAsync(IReadOnlyList<RewardRequest> requests, int start, int length, RewardResult[] results, CancellationTokenSource stopSource)
    {
        var chunk = new RewardRequest[length];
        for (int i = 0; i < length; i++)
        {
            chunk[i] = requests[start + i];
        }

        CancellationToken token = stopSource.Token;
        try
        {
            await _slots.WaitAsync(token).ConfigureAwait(false);
            try
            {
                IReadOnlyList<RewardResult> chunkResults = await InnerModel.ScoreAsync(chunk, token).ConfigureAwait(false);
                RewardPipelineGuards.EnsureOneResultPerRequest(chunkResults, length, "concurrency limit");
                for (int i = 0; i < length; i++)
                {
                    results[start + i] = chunkResults[i];
                }
            }
            finally
            {
                _slots.Release();
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            await stopSource.CancelAsync().ConfigureAwait(false);
            throw;
        }
    }
}
