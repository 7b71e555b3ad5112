using Vepa.Core.Tests.Rewards;
using Vepa.Rewards;

namespace Vepa.Rewards.Tests.Sufficiency;

/// <summary>The sufficiency reward meets the shared <see cref="IRewardModel"/> contract, with a scripted reader and one item the reader cannot read.</summary>
public sealed class SufficiencyRewardModelContractTests : RewardModelContractTests
{
    private static readonly Dictionary<string, BlindReaderReply> Script = new(StringComparer.Ordinal)
    {
        ["A small red ball lies on the grass next to a blue cube."] = new("red", IsHonest: true, "[[honest]] red"),
        ["Two green cubes stand behind a yellow cylinder."] = new("two", IsHonest: true),
        ["The cylinder is the largest object; the cube and sphere are small."] = new("(B)", IsHonest: true),
        ["A tall cylinder towers over a small cube."] = new("the cylinder", IsHonest: true),
        ["The lamp on the desk glows brightly."] = new("Yes", IsHonest: true),
    };

    protected override IRewardModel CreateModel() => new SufficiencyRewardModel(new DelegateBlindReader(async (query, token) =>
    {
        await Task.Yield();
        token.ThrowIfCancellationRequested();
        return Script.TryGetValue(query.Evidence, out BlindReaderReply? reply)
            ? reply
            : throw new BlindReaderException("The reader's output could not be parsed.", isTransient: false);
    }));

    protected override IReadOnlyList<RewardRequest> CreateRequests() =>
        [.. DefaultRequests(), new RewardRequest("Why?", "because", "Unscripted evidence.") { Id = "unreadable" }];

    [Fact]
    public async Task The_scripted_batch_scores_as_hand_derived()
    {
        using IRewardModel model = CreateModel();

        IReadOnlyList<RewardResult> results = await ScoreAsync(model, CreateRequests());

        // open-1 red ✓, open-2 two = 2 ✓, open-empty (reader not called) 0, mc-label (B) ✓, mc-text cylinder ✓, open-yes ✓, unreadable fails.
        results.Take(6).Select(r => r.Value).Should().Equal(1.0, 1.0, 0.0, 1.0, 1.0, 1.0);
        results[6].Status.Should().Be(RewardStatus.Failed);
        results[6].Failure!.IsTransient.Should().BeFalse();
    }
}
