using Vepa.Core.Tests.Rewards.Fakes;

namespace Vepa.Core.Tests.Rewards;

/// <summary>The test fake itself meets the contract, with a permanently failing item in the batch.</summary>
public sealed class FakeRewardModelContractTests : RewardModelContractTests
{
    protected override IRewardModel CreateModel() => new FakeRewardModel(static (request, _) =>
        request.Id == "broken" ? RewardResult.Failed("the reader returned garbage", isTransient: false) : FakeRewardModel.Deterministic(request));

    protected override IReadOnlyList<RewardRequest> CreateRequests() =>
        [.. DefaultRequests(), new RewardRequest("Why?", "because", "Some evidence.") { Id = "broken" }];
}
