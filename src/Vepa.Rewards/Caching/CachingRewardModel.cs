namespace Vepa.Rewards;

/// <summary>
/// Scores identical requests of a batch once (see <see cref="RewardRequestContentComparer"/>) and gives the result to each of them;
/// optionally keeps scored results across batches in a bounded least-recently-used cache (<c>Microsoft.Extensions.Caching.Memory</c>).
/// </summary>
/// <remarks>Thread-safe.</remarks>
internal sealed class CachingRewardModel : DelegatingRewardModel
{
    private readonly RewardResultCache? _crossBatchCache;

    public CachingRewardModel(IRewardModel innerModel, int maxCachedEntries)
        : base(innerModel)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxCachedEntries);
        _crossBatchCache = maxCachedEntries > 0 ? new RewardResultCache(maxCachedEntries) : null;
    }

    public int CachedEntries => _crossBatchCache?.Count ?? 0;

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
        var slotOf = new int[count];
        var slotByContent = new Dictionary<RewardRequest, int>(RewardRequestContentComparer.Instance);
        var unique = new List<RewardRequest>();
        for (int i = 0; i < count; i++)
        {
            RewardRequest request = requests[i] ?? throw new ArgumentException($"The request at index {i} is null.", nameof(requests));
            if (_crossBatchCache is not null && _crossBatchCache.TryGet(request, out RewardResult cached))
            {
                results[i] = cached;
                slotOf[i] = -1;
            }
            else if (slotByContent.TryGetValue(request, out int slot))
            {
                slotOf[i] = slot;
            }
            else
            {
                slotOf[i] = unique.Count;
                slotByContent.Add(request, unique.Count);
                unique.Add(request);
            }
        }

        if (unique.Count == 0)
        {
            return results;
        }

        IReadOnlyList<RewardResult> uniqueResults = await InnerModel.ScoreAsync(unique, cancellationToken).ConfigureAwait(false);
        RewardPipelineGuards.EnsureOneResultPerRequest(uniqueResults, unique.Count, "caching");
        if (_crossBatchCache is not null)
        {
            for (int u = 0; u < unique.Count; u++)
            {
                if (uniqueResults[u].IsScored)
                {
                    _crossBatchCache.Set(unique[u], uniqueResults[u]);
                }
            }
        }

        for (int i = 0; i < count; i++)
        {
            if (slotOf[i] >= 0)
            {
                results[i] = uniqueResults[slotOf[i]];
            }
        }

        return results;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _crossBatchCache?.Dispose();
        }

        base.Dispose(disposing);
    }
}
