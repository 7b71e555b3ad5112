namespace Vepa.Grpo.Tests.Training;

/// <summary>Reward 1 when the evidence is exactly the gold answer, else 0 (or a given score); rows listed in <see cref="FailRows"/> fail; can throw or hang.</summary>
internal sealed class ExactAnswerRewardModel(Func<RewardRequest, double>? score = null) : IRewardModel
{
    private readonly Func<RewardRequest, double> _score = score ?? (r => r.Evidence == r.GoldAnswer ? 1.0 : 0.0);

    public HashSet<int> FailRows { get; } = [];

    public bool Throw { get; set; }

    public TimeSpan? Delay { get; set; }

    public int Calls { get; private set; }

    public async Task<IReadOnlyList<RewardResult>> ScoreAsync(IReadOnlyList<RewardRequest> requests, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(requests);
        Calls++;
        if (Delay is TimeSpan delay)
        {
            await Task.Delay(delay, cancellationToken);
        }

        if (Throw)
        {
            throw new HttpRequestException("reader unavailable");
        }

        return requests.Select((r, i) => FailRows.Contains(i)
            ? RewardResult.Failed("scripted failure", isTransient: false)
            : RewardResult.Scored(_score(r), new Dictionary<string, double> { ["s"] = _score(r) })).ToArray();
    }

    public object? GetService(Type serviceType, object? serviceKey = null) => serviceType.IsInstanceOfType(this) ? this : null;

    public void Dispose()
    {
    }
}
