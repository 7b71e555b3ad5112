using Vepa.Rewards;

namespace Vepa.Samples.SceneVepa.Reading;

/// <summary>Builds the VEPA stage's reward for a <see cref="RewardKind"/> around any blind reader's sufficiency reward.</summary>
internal static class TrainingReward
{
    /// <summary>The sufficiency reward's options for the kind: the signed formula for <see cref="RewardKind.Signed"/>, the defaults otherwise.</summary>
    public static SufficiencyRewardOptions? SufficiencyOptions(RewardKind kind) =>
        kind == RewardKind.Signed ? new SufficiencyRewardOptions { Formula = SufficiencyRewardFormula.Signed } : null;

    /// <summary>Wraps the sufficiency reward for the kind (the term ablations recompute R from s and h; the grounded reward multiplies in g).</summary>
    public static IRewardModel Wrap(IRewardModel sufficiency, RewardKind kind) => kind switch
    {
        RewardKind.Sufficiency or RewardKind.SufficiencyHonesty => new RewardTermsModel(sufficiency, kind),
        RewardKind.Grounded => new GroundedRewardModel(sufficiency),
        _ => sufficiency,
    };

    /// <summary>The formula as the report writes it.</summary>
    public static string Describe(RewardKind kind) => kind switch
    {
        RewardKind.Sufficiency => "R = s",
        RewardKind.SufficiencyHonesty => "R = s·h",
        RewardKind.Signed => "signed (+1 correct, −1 cheating, −0.5 repetition)",
        RewardKind.Grounded => "R = s·h·γ·g (grounded: g = 1 only when every stated fact is true of the scene)",
        _ => "R = s·h·γ",
    };
}
