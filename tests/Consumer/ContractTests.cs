using Vepa.Grpo;
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

#region snippet:policy-contract
/// <summary>The host's policy model, through Vepa's adapter, meets the policy contract of the Vepa.Testing package.</summary>
public sealed class ColourAnswerPolicyContractTests : PolicyContractTests
{
    private static readonly WordTokenizer Tokenizer = new(["<eos>", "<bos>", "ball", "cube", "red", "blue"]);

    protected override IPolicy CreatePolicy() =>
        new TorchPolicy(new ColourAnswerModule(Tokenizer.VocabularySize, hidden: 8, seed: 3), Tokenizer);

    protected override IReadOnlyList<PolicyPrompt> CreatePrompts() =>
    [
        new("What colour is the ball?", "red", [Tokenizer.IdOf("<bos>"), Tokenizer.IdOf("ball")]),
        new("What colour is the cube?", "blue", [Tokenizer.IdOf("<bos>"), Tokenizer.IdOf("cube")]),
    ];

    protected override SamplingOptions Sampling =>
        new() { Temperature = 1.0, MaxNewTokens = 3, StopTokenIds = [Tokenizer.IdOf("<eos>")], Seed = 5 };
}
#endregion
