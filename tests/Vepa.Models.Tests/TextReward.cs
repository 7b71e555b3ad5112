namespace Vepa.Models.Tests;

/// <summary>A reward computed in code from the evidence text, for training tests.</summary>
internal sealed class TextReward(Func<string, double> score) : IRewardModel
{
    public Task<IReadOnlyList<RewardResult>> ScoreAsync(IReadOnlyList<RewardRequest> requests, CancellationToken cancellationToken = default) =>
        Task.FromResult<IReadOnlyList<RewardResult>>(requests.Select(r => RewardResult.Scored(score(r.Evidence))).ToArray());

    public object? GetService(Type serviceType, object? serviceKey = null) => serviceType.IsInstanceOfType(this) ? this : null;

    public void Dispose()
    {
    }
}
