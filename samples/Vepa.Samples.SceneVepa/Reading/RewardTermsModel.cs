using Vepa.Rewards;

namespace Vepa.Samples.SceneVepa.Reading;

/// <summary>
/// Recomputes the sufficiency reward from its components for the reward-term ablation: R = s (<see cref="RewardKind.Sufficiency"/>)
/// or R = s · h (<see cref="RewardKind.SufficiencyHonesty"/>). Failed results stay failed; penalized results (evidence the reward
/// could not score normally) keep their penalty.
/// </summary>
internal sealed class RewardTermsModel : DelegatingRewardModel
{
    private readonly RewardKind _kind;

    public RewardTermsModel(IRewardModel inner, RewardKind kind)
        : base(inner)
    {
        if (kind is not (RewardKind.Sufficiency or RewardKind.SufficiencyHonesty))
        {
            throw new ArgumentOutOfRangeException(nameof(kind), kind, "The reward-term ablation recomputes R = s or R = s·h only.");
        }

        _kind = kind;
    }

    public override async Task<IReadOnlyList<RewardResult>> ScoreAsync(IReadOnlyList<RewardRequest> requests, CancellationToken cancellationToken = default)
    {
        var results = await InnerModel.ScoreAsync(requests, cancellationToken).ConfigureAwait(false);
        return results.Select(Recompute).ToList();
    }

    private RewardResult Recompute(RewardResult result)
    {
        if (!result.IsScored || result.IsPenalized)
        {
            return result;
        }

        if (!result.Components.TryGetValue(RewardComponentNames.Sufficiency, out double s) || !result.Components.TryGetValue(RewardComponentNames.Honesty, out double h))
        {
            return RewardResult.Failed($"The inner reward reported no \"{RewardComponentNames.Sufficiency}\" and \"{RewardComponentNames.Honesty}\" components to recompute R from; got [{string.Join(", ", result.Components.Keys)}].", isTransient: false);
        }

        double value = _kind == RewardKind.Sufficiency ? s : s * h;
        return RewardResult.Scored(value, result.Components, result.Annotations);
    }
}
