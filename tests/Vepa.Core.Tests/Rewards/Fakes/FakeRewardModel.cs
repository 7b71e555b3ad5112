using System.Collections.Concurrent;

namespace Vepa.Core.Tests.Rewards.Fakes;

/// <summary>
/// A scripted in-process reward model for tests: scores each request with a function of the request and of how many
/// times that request has been scored before, counts calls and items, and tracks the largest number of calls in flight.
/// </summary>
/// <remarks>Safe to call concurrently. Reusable by other test projects (public).</remarks>
public sealed class FakeRewardModel : IRewardModel
{
    private readonly Func<RewardRequest, int, RewardResult> _score;
    private readonly ConcurrentDictionary<RewardRequest, int> _attempts = new();
    private readonly ConcurrentQueue<RewardRequest[]> _batches = new();
    private int _calls;
    private int _items;
    private int _inFlight;
    private int _maxInFlight;
    private int _disposeCount;

    /// <summary>Initializes a new instance of the <see cref="FakeRewardModel"/> class.</summary>
    /// <param name="score">
    /// Scores one request given the zero-based attempt number for that request (the number of earlier times an equal
    /// request was scored by this instance); <see cref="Deterministic"/> when <see langword="null"/>.
    /// </param>
    public FakeRewardModel(Func<RewardRequest, int, RewardResult>? score = null)
    {
        _score = score ?? ((request, _) => Deterministic(request));
    }

    /// <summary>Gets or sets a hook awaited inside every call, while the call counts as in flight (a delay, a gate).</summary>
    public Func<IReadOnlyList<RewardRequest>, CancellationToken, Task>? OnCall { get; set; }

    /// <summary>Gets the number of calls to <see cref="ScoreAsync"/> that got past argument checks.</summary>
    public int Calls => Volatile.Read(ref _calls);

    /// <summary>Gets the number of items scored (the sum of batch sizes of the calls that completed).</summary>
    public int ItemsScored => Volatile.Read(ref _items);

    /// <summary>Gets the number of calls in flight now.</summary>
    public int InFlight => Volatile.Read(ref _inFlight);

    /// <summary>Gets the largest number of calls that were in flight at the same time.</summary>
    public int MaxInFlight => Volatile.Read(ref _maxInFlight);

    /// <summary>Gets how many times <see cref="Dispose"/> was called.</summary>
    public int DisposeCount => Volatile.Read(ref _disposeCount);

    /// <summary>Gets the batches received, in arrival order.</summary>
    public IReadOnlyList<RewardRequest[]> Batches => _batches.ToArray();

    /// <summary>Gets how many times a request equal to <paramref name="request"/> was scored.</summary>
    /// <param name="request">The request.</param>
    /// <returns>The count.</returns>
    public int AttemptsFor(RewardRequest request) => _attempts.TryGetValue(request, out int n) ? n : 0;

    /// <summary>
    /// The default score, a pure function of the request: empty evidence scores 0 with components s = 0, h = 1, gamma = 1;
    /// otherwise the value is (evidence length mod 10) / 10 with components s = 1, h = 1, gamma = value.
    /// </summary>
    /// <param name="request">The request.</param>
    /// <returns>The result.</returns>
    public static RewardResult Deterministic(RewardRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Evidence.Length == 0)
        {
            return RewardResult.Scored(0, new Dictionary<string, double> { ["s"] = 0, ["h"] = 1, ["gamma"] = 1 });
        }

        double value = (request.Evidence.Length % 10) / 10.0;
        return RewardResult.Scored(value, new Dictionary<string, double> { ["s"] = 1, ["h"] = 1, ["gamma"] = value });
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<RewardResult>> ScoreAsync(IReadOnlyList<RewardRequest> requests, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(requests);
        cancellationToken.ThrowIfCancellationRequested();
        RewardRequest[] batch = [.. requests];
        Interlocked.Increment(ref _calls);
        _batches.Enqueue(batch);
        int now = Interlocked.Increment(ref _inFlight);
        UpdateMax(now);
        try
        {
            if (OnCall is { } onCall)
            {
                await onCall(batch, cancellationToken).ConfigureAwait(false);
            }

            var results = new RewardResult[batch.Length];
            for (int i = 0; i < batch.Length; i++)
            {
                int attempt = _attempts.AddOrUpdate(batch[i], 1, static (_, n) => n + 1) - 1;
                results[i] = _score(batch[i], attempt);
            }

            Interlocked.Add(ref _items, batch.Length);
            return results;
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }

    /// <inheritdoc />
    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        return serviceKey is null && serviceType.IsInstanceOfType(this) ? this : null;
    }

    /// <inheritdoc />
    public void Dispose() => Interlocked.Increment(ref _disposeCount);

    private void UpdateMax(int value)
    {
        int seen = Volatile.Read(ref _maxInFlight);
        while (value > seen)
        {
            int previous = Interlocked.CompareExchange(ref _maxInFlight, value, seen);
            if (previous == seen)
            {
                return;
            }

            seen = previous;
        }
    }
}
