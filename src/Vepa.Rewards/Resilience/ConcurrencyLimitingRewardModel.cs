using System.Threading.RateLimiting;
using Polly;

namespace Vepa.Rewards;

/// <summary>
/// Cuts each batch into chunks of at most <see cref="MaxBatchSize"/> consecutive items and scores them through the inner model with at most
/// <see cref="MaxConcurrency"/> calls in flight, counted over every batch this instance scores at the same time.
/// </summary>
/// <remarks>
/// The limit is a <see cref="ConcurrencyLimiter"/> (System.Threading.RateLimiting) behind Polly's rate-limiter strategy, with an unbounded
/// first-in-first-out queue, so no call is ever rejected: it waits for a permit. Thread-safe. Results keep request order. When the caller cancels, waiting chunks stop waiting and in-flight calls see the cancellation.
/// When one chunk's call throws, the other chunks are cancelled and the exception propagates.
/// </remarks>
internal sealed class ConcurrencyLimitingRewardModel : DelegatingRewardModel
{
    private readonly ConcurrencyLimiter _limiter;
    private readonly ResiliencePipeline _pipeline;

    public ConcurrencyLimitingRewardModel(IRewardModel innerModel, int maxConcurrency, int maxBatchSize)
        : base(innerModel)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxConcurrency, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBatchSize, 1);
        MaxConcurrency = maxConcurrency;
        MaxBatchSize = maxBatchSize;
        _limiter = new ConcurrencyLimiter(new ConcurrencyLimiterOptions
        {
            PermitLimit = maxConcurrency,
            QueueLimit = int.MaxValue,
            QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
        });
        _pipeline = new ResiliencePipelineBuilder().AddRateLimiter(_limiter).Build();
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
            _limiter.Dispose();
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
            IReadOnlyList<RewardResult> chunkResults = await _pipeline.ExecuteAsync(
                static (state, ct) => new ValueTask<IReadOnlyList<RewardResult>>(state.Inner.ScoreAsync(state.Chunk, ct)),
                (Inner: InnerModel, Chunk: chunk),
                token).ConfigureAwait(false);
            RewardPipelineGuards.EnsureOneResultPerRequest(chunkResults, length, "concurrency limit");
            for (int i = 0; i < length; i++)
            {
                results[start + i] = chunkResults[i];
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            await stopSource.CancelAsync().ConfigureAwait(false);
            throw;
        }
    }
}
