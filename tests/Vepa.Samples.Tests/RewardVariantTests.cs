using Vepa.Rewards;
using Vepa.Samples.SceneVepa.Reading;
using Vepa.Samples.SceneVepa.World;

namespace Vepa.Samples.Tests;

/// <summary>The VEPA stage's reward variants: the term ablations, the signed variant and the grounded reward.</summary>
public sealed class RewardVariantTests
{
    // top left: big red circle; bottom right: small red triangle.
    private static readonly Scene Scene = new([new SceneObject(0, 0, 0, 0), new SceneObject(0, 2, 1, 8)], drawSeed: 1);
    private static readonly VqaItem RedTriangle = new(Scene, QuestionFamily.Exist, "is there a red triangle?", "yes", null, "exist");

    // A reader that always answers the gold answer ("yes"), honestly or not.
    private static IRewardModel Sufficiency(bool honest, RewardKind kind) =>
        new SufficiencyRewardModel(new DelegateBlindReader(_ => new BlindReaderReply("yes", honest)), TrainingReward.SufficiencyOptions(kind));

    private static async Task<RewardResult> ScoreAsync(IRewardModel model, string evidence, bool withScene = true)
    {
        var request = RedTriangle.ToRequest(evidence) with
        {
            Metadata = withScene ? new Dictionary<string, object?> { [GroundedRewardModel.SceneKey] = RedTriangle } : null,
        };
        return (await model.ScoreAsync([request]))[0];
    }

    [Theory]
    [InlineData(nameof(RewardKind.SufficiencyHonestyRepetition), 0.0)]
    [InlineData(nameof(RewardKind.Sufficiency), 1.0)]
    [InlineData(nameof(RewardKind.SufficiencyHonesty), 0.0)]
    [InlineData(nameof(RewardKind.Signed), -1.0)]
    public async Task A_correct_answer_from_cheating_evidence_pays_only_without_the_honesty_term(string kindName, double expected)
    {
        var kind = Enum.Parse<RewardKind>(kindName);
        using var model = TrainingReward.Wrap(Sufficiency(honest: false, kind), kind);
        var result = await ScoreAsync(model, "small red triangle at bottom right");
        result.IsScored.Should().BeTrue(result.ToString());
        result.Value.Should().Be(expected);
    }

    [Fact]
    public async Task Repetitive_evidence_loses_only_under_the_repetition_term()
    {
        const string evidence = "red circle at top left, red circle at top left, red circle at top left, red circle at top left, red circle at top left";
        using var full = TrainingReward.Wrap(Sufficiency(honest: true, RewardKind.SufficiencyHonestyRepetition), RewardKind.SufficiencyHonestyRepetition);
        var shg = await ScoreAsync(full, evidence);
        double gamma = shg.Components[RewardComponentNames.Repetition];
        gamma.Should().BeLessThan(1, "the evidence repeats one phrase five times");
        shg.Value.Should().Be(gamma);

        foreach (var kind in new[] { RewardKind.Sufficiency, RewardKind.SufficiencyHonesty })
        {
            using var model = TrainingReward.Wrap(Sufficiency(honest: true, kind), kind);
            (await ScoreAsync(model, evidence)).Value.Should().Be(1, kind.ToString());
        }

        using var signed = TrainingReward.Wrap(Sufficiency(honest: true, RewardKind.Signed), RewardKind.Signed);
        (await ScoreAsync(signed, evidence)).Value.Should().Be(0.5, "signed: +1 correct − 0.5 repetition");
    }

    [Theory]
    [InlineData("small red triangle at bottom right", 1.0)] // true
    [InlineData("top left big red triangle", 0.0)] // the echo: a triangle asserted where the scene has a circle
    [InlineData("small red triangle at bottom right, big blue square at center", 0.0)] // one false fact is enough
    public async Task The_grounded_reward_pays_only_for_evidence_the_scene_makes_true(string evidence, double expected)
    {
        using var model = TrainingReward.Wrap(new SufficiencyRewardModel(new SceneBlindReader(strict: false)), RewardKind.Grounded);
        var result = await ScoreAsync(model, evidence);
        result.IsScored.Should().BeTrue(result.ToString());
        result.Components[RewardComponentNames.Sufficiency].Should().Be(1, "the blind reader answers \"yes\" from each evidence");
        result.Components[GroundedRewardModel.GroundingComponent].Should().Be(expected);
        result.Value.Should().Be(expected);
    }

    [Fact]
    public async Task The_grounded_reward_fails_a_request_without_a_scene_instead_of_scoring_it()
    {
        using var model = TrainingReward.Wrap(new SufficiencyRewardModel(new SceneBlindReader(strict: false)), RewardKind.Grounded);
        var result = await ScoreAsync(model, "small red triangle at bottom right", withScene: false);
        result.IsScored.Should().BeFalse();
        result.Failure!.Reason.Should().Contain(GroundedRewardModel.SceneKey);
    }
}
