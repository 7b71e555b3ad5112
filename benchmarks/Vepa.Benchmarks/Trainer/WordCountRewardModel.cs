using Vepa;

namespace Vepa.Benchmarks.Trainer;

/// <summary>A reward computable in code at no cost (the number of distinct words), so the step's time is the trainer's and the policy's.</summary>
internal sealed class WordCountRewardModel : IRewardModel
{
    public Task<IReadOnlyList<RewardResult>> ScoreAsync(IReadOnlyList<RewardRequest> requests, CancellationToken cancellationToken = default)
        => Task.FromResult<IReadOnlyList<RewardResult>>(requests
            .Select(r => RewardResult.Scored(r.Evidence.Split(' ', StringSplitOptions.RemoveEmptyEntries).Distinct().Count()))
            .ToArray());

    public object? GetService(Type serviceType, object? serviceKey = null) => serviceType.IsInstanceOfType(this) ? this : null;

    public void Dispose()
    {
    }
}
