namespace Vepa.Grpo.Tests.Training;

/// <summary>Reward 1 when the evidence is exactly the gold answer, else 0 (or a given score); rows listed in <see cref="FailRows"/> fail; can throw or hang.</summary>
internal sealed class ExactAnswerRewardModel(Func<RewardRequest, double>? score = null) : IRewardModel
{
    private readonly Func<RewardRequest, double> _score = score ?? (r => r.Evidence == r.GoldAnswer ? 1.0 : 0.0);

    public HashSet<int> FailRows { get; } = [];

    /// <summary>Gets rows scored as penalised (evidence-caused failures) with value 0.</summary>
    public HashSet<int> PenalizeRows { get; } = [];

    public bool Throw { get; set; }

    /// <summary>Gets or sets the exception thrown when <see cref="Throw"/> is set; an HTTP error quoting a secret by default.</summary>
    public Exception ThrowWith { get; set; } = new HttpRequestException("reader unavailable: Authorization: Bearer sk-secret-123");

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
            throw ThrowWith;
        }

        return requests.Select((r, i) => FailRows.Contains(i)
            ? RewardResult.Failed("scripted failure", isTransient: false)
            : PenalizeRows.Contains(i)
            ? RewardResult.Penalized(0.0, new RewardFailure("scripted evidence failure", IsTransient: false, Kind: RewardFailureKind.Evidence))
            : RewardResult.Scored(_score(r), new Dictionary<string, double> { ["s"] = _score(r) })).ToArray();
    }

    public object? GetService(Type serviceType, object? serviceKey = null) => serviceType.IsInstanceOfType(this) ? this : null;

    public void Dispose()
    {
    }
}
