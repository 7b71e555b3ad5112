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
            results[i] = request.Evidence.Length == 0
                ? RewardResult.Failed("The policy wrote no evidence.", isTransient: false)   // reported, never scored 0
                : RewardResult.Scored(request.Evidence.Contains(request.GoldAnswer, StringComparison.OrdinalIgnoreCase) ? 1.0 : 0.0);
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
