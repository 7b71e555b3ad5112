namespace Vepa.Consumer;

#region snippet:custom-reward
/// <summary>A reward of the host's own: 1 when the evidence names the gold answer, else 0.</summary>
public sealed class ExactAnswerReward : IRewardModel
{
    public Task<IReadOnlyList<RewardResult>> ScoreAsync(IReadOnlyList<RewardRequest> requests, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(requests);
        cancellationToken.ThrowIfCancellationRequested();
        var results = new RewardResult[requests.Count];
        for (int i = 0; i < requests.Count; i++)
        {
            RewardRequest request = requests[i];
            // Empty evidence is legal and insufficient: it scores 0, as in Vepa's own rewards. A failure would be NaN, which the
            // advantage kernel excludes from the group: a policy would learn to write nothing to escape a low score.
            results[i] = RewardResult.Scored(request.Evidence.Contains(request.GoldAnswer, StringComparison.OrdinalIgnoreCase) ? 1.0 : 0.0);
        }

        return Task.FromResult<IReadOnlyList<RewardResult>>(results);
    }

    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        return serviceKey is null && serviceType.IsInstanceOfType(this) ? this : null;
    }

    public void Dispose()
    {
    }
}
#endregion
