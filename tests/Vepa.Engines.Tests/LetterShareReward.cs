namespace Vepa.Engines.Tests;

/// <summary>A reward with spread inside every group: the share of letters among a completion's characters (0 for an empty text).</summary>
internal sealed class LetterShareReward : IRewardModel
{
    public static double Score(string text) => text.Length == 0 ? 0 : text.Count(char.IsLetter) / (double)text.Length;

    public Task<IReadOnlyList<RewardResult>> ScoreAsync(IReadOnlyList<RewardRequest> requests, CancellationToken cancellationToken = default) =>
        Task.FromResult<IReadOnlyList<RewardResult>>(requests.Select(r => RewardResult.Scored(Score(r.Evidence))).ToArray());

    public object? GetService(Type serviceType, object? serviceKey = null) => serviceType.IsInstanceOfType(this) ? this : null;

    public void Dispose()
    {
    }
}
