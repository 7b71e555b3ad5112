namespace Vepa.Rewards;

/// <summary>A bounded least-recently-used map from request content to a scored result.</summary>
/// <remarks>Thread-safe (one lock; every operation is O(1)).</remarks>
internal sealed class RewardResultCache
{
    private readonly Dictionary<RewardRequest, LinkedListNode<KeyValuePair<RewardRequest, RewardResult>>> _map;
    private readonly LinkedList<KeyValuePair<RewardRequest, RewardResult>> _recency = new();
    private readonly Lock _lock = new();

    public RewardResultCache(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        Capacity = capacity;
        _map = new Dictionary<RewardRequest, LinkedListNode<KeyValuePair<RewardRequest, RewardResult>>>(RewardRequestContentComparer.Instance);
    }

    public int Capacity { get; }

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _map.Count;
            }
        }
    }

    public bool TryGet(RewardRequest request, out RewardResult result)
    {
        lock (_lock)
        {
            if (_map.TryGetValue(request, out var node))
            {
                _recency.Remove(node);
                _recency.AddFirst(node);
                result = node.Value.Value;
                return true;
            }
        }

        result = null!;
        return false;
    }

    public void Set(RewardRequest request, RewardResult result)
    {
        lock (_lock)
        {
            if (_map.TryGetValue(request, out var existing))
            {
                _recency.Remove(existing);
                _map.Remove(request);
            }
            else if (_map.Count >= Capacity)
            {
                var oldest = _recency.Last!;
                _recency.RemoveLast();
                _map.Remove(oldest.Value.Key);
            }

            var node = _recency.AddFirst(new KeyValuePair<RewardRequest, RewardResult>(request, result));
            _map[request] = node;
        }
    }
}
