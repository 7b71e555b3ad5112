using Microsoft.Extensions.Caching.Memory;

namespace Vepa.Rewards;

/// <summary>A bounded map from request content to a scored result on <see cref="MemoryCache"/>, least recently used evicted first.</summary>
/// <remarks>
/// Keys compare requests by content (<see cref="RewardRequestContentComparer"/>). When a set makes the cache exceed its capacity, the cache is
/// compacted at once (<see cref="MemoryCache.Compact(double)"/>, which removes the least recently accessed entries), so the bound holds
/// after every call. Thread-safe.
/// </remarks>
internal sealed class RewardResultCache : IDisposable
{
    private readonly MemoryCache _cache;
    private readonly Lock _compactLock = new();

    public RewardResultCache(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        Capacity = capacity;
        _cache = new MemoryCache(new MemoryCacheOptions { CompactionPercentage = 0 });
    }

    public int Capacity { get; }

    public int Count => _cache.Count;

    public bool TryGet(RewardRequest request, out RewardResult result)
    {
        if (_cache.TryGetValue(new ContentKey(request), out RewardResult? cached) && cached is not null)
        {
            result = cached;
            return true;
        }

        result = null!;
        return false;
    }

    public void Set(RewardRequest request, RewardResult result)
    {
        _cache.Set(new ContentKey(request), result);
        lock (_compactLock)
        {
            int count = _cache.Count;
            if (count > Capacity)
            {
                // Compact removes floor(count · percentage) entries; the half entry guards against rounding down.
                _cache.Compact((count - Capacity + 0.5) / count);
            }
        }
    }

    public void Dispose() => _cache.Dispose();

    /// <summary>A cache key that compares requests by what the reward depends on.</summary>
    private readonly record struct ContentKey(RewardRequest Request)
    {
        public bool Equals(ContentKey other) => RewardRequestContentComparer.Instance.Equals(Request, other.Request);

        public override int GetHashCode() => RewardRequestContentComparer.Instance.GetHashCode(Request);
    }
}
