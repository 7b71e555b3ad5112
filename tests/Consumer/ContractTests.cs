using Vepa.Rewards;
using Vepa.Testing;

namespace Vepa.Consumer;

#region snippet:reward-contract
/// <summary>The host's reward meets the same contract as Vepa's own (the tests come from the Vepa.Testing package).</summary>
public sealed class ExactAnswerRewardContractTests : RewardModelContractTests
{
    protected override IRewardModel CreateModel() => new ExactAnswerReward();
}
#endregion

#region snippet:reader-contract
/// <summary>A blind reader of the host's own, checked against the package's reader contract.</summary>
public sealed class KeywordBlindReaderContractTests : BlindReaderContractTests
{
    protected override IBlindReader CreateReader() => new KeywordBlindReader();
}

/// <summary>The sufficiency reward over that reader still meets the reward contract.</summary>
public sealed class SufficiencyOverKeywordReaderContractTests : RewardModelContractTests
{
    protected override IRewardModel CreateModel() => new SufficiencyRewardModel(new KeywordBlindReader());
}
#endregion
