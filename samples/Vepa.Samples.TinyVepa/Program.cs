// A tiny, complete VEPA stage on CPU: a policy writes evidence for synthetic scenes, a frozen rule-based blind reader
// answers from that evidence alone, the sufficiency reward R = s·h·γ scores it, and GRPO (Vepa's advantage, fused
// log-prob and policy-loss kernels) updates the policy. Runs in well under a minute.
using System.Globalization;
using TorchSharp;
using Vepa;
using Vepa.Grpo;
using Vepa.Rewards;
using Vepa.Samples.TinyVepa;
using static TorchSharp.torch;

const int Steps = 100, PromptsPerStep = 32, GroupSize = 4, Iterations = 2, EvalItems = 300;
const double Temperature = 0.9, LearningRate = 0.05;

torch.manual_seed(7);
var generator = new Generator(7);
var world = new SceneWorld(seed: 11);
var evalWorld = new SceneWorld(seed: 12);
var evalItems = Enumerable.Range(0, EvalItems).Select(_ => evalWorld.Sample()).ToList();

using var rewardModel = new SufficiencyRewardModel(RuleBasedBlindReader.Create())
    .AsBuilder()
    .UseCaching()              // G identical evidences cost one reader call
    .UseConcurrencyLimit(8)
    .Build();

using var policy = TinyPolicy.Create(generator);
using var reference = policy.FrozenCopy();
using var optimizer = optim.Adam(policy.Parameters, lr: LearningRate);
var lossOptions = new PolicyLossOptions { Beta = 0.01, KlEstimator = KlEstimator.K3 }; // VEPA: clip 0.2, seq-mean-token-mean, k3, β = 0.01

Console.WriteLine($"TinyVepa: {Steps} GRPO steps, {PromptsPerStep} prompts x G = {GroupSize}, vocabulary {SceneWorld.Vocabulary.Length}, evidence length {TinyPolicy.EvidenceLength}");
double before = await EvaluateAsync(policy, evalItems, rewardModel);
Console.WriteLine($"greedy evidence sufficiency before training: {before:P1}");
Console.WriteLine();
Console.WriteLine(" step | mean R | zero-std groups | mean KL  | mean ρ | clip low/high | example evidence");

for (int step = 1; step <= Steps; step++)
{
    var items = Enumerable.Range(0, PromptsPerStep).Select(_ => world.Sample()).ToList();
    var rollouts = items.SelectMany(item => Enumerable.Repeat(item, GroupSize)).ToList();

    // 1. Rollouts (no gradient), decoded to text at the boundary to the reward.
    long[] tokens = Rollout(policy, rollouts, generator);
    var requests = rollouts.Select((item, i) => new RewardRequest(
        item.Question, item.Gold, SceneWorld.Decode(tokens.AsSpan(i * TinyPolicy.EvidenceLength, TinyPolicy.EvidenceLength)))).ToList();

    // 2. Rewards (async, text only). A failed reader call would come back NaN and be excluded from the group statistics.
    var results = await rewardModel.ScoreAsync(requests);

    // 3. One GRPO update, inside one dispose scope.
    using (var scope = NewDisposeScope())
    {
        var rewards = tensor(results.Select(r => r.Value).ToArray(), dtype: float32).reshape(PromptsPerStep, GroupSize);
        using var advantages = GroupAdvantages.Compute(rewards);
        var features = Features(rollouts);
        var targets = tensor(tokens, dtype: int64).reshape(rollouts.Count, TinyPolicy.EvidenceLength);
        var mask = EvidenceMask(targets);

        Tensor referenceLogProbs, oldLogProbs;
        using (no_grad())
        {
            referenceLogProbs = TokenLogProbs.FromHiddenStates(reference.HiddenStates(features), reference.Head, targets, temperature: Temperature);
            oldLogProbs = TokenLogProbs.FromHiddenStates(policy.HiddenStates(features), policy.Head, targets, temperature: Temperature);
        }

        // μ = 2 updates per batch: the second one sees ρ ≠ 1, so the clipped surrogate is active.
        PolicyLossStatistics stats = null!;
        for (int iteration = 0; iteration < Iterations; iteration++)
        {
            var logProbs = TokenLogProbs.FromHiddenStates(policy.HiddenStates(features), policy.Head, targets, temperature: Temperature);
            using var loss = PolicyLoss.Compute(
                new PolicyLossInputs
                {
                    LogProbs = logProbs,
                    OldLogProbs = oldLogProbs,
                    ReferenceLogProbs = referenceLogProbs,
                    Advantages = advantages.Advantages.reshape(-1),
                    Mask = mask,
                },
                lossOptions);
            optimizer.zero_grad();
            loss.Loss.backward();
            optimizer.step();
            stats = loss.Statistics;
        }

        if (step == 1 || step % 10 == 0)
        {
            double meanReward = results.Average(r => r.Value);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $" {step,4} | {meanReward,6:F3} | {advantages.ZeroSignalFraction,15:P0} | {stats.MeanKl,8:F5} | {stats.MeanRatio,6:F3} | {stats.ClipFractionLow,5:F3}/{stats.ClipFractionHigh,5:F3} | \"{requests[0].Evidence}\" → {items[0].Question}"));
        }
    }
}

double after = await EvaluateAsync(policy, evalItems, rewardModel);
Console.WriteLine();
Console.WriteLine($"greedy evidence sufficiency after training:  {after:P1} (before: {before:P1})");
foreach (var item in evalItems.Take(3))
{
    long[] greedy = GreedyTokens(policy, [item]);
    Console.WriteLine($"  {item.Question,-28} gold {item.Gold,-7} evidence: \"{SceneWorld.Decode(greedy)}\"");
}

return after > before ? 0 : 1;

static Tensor Features(IReadOnlyList<VqaItem> items)
{
    var features = new float[items.Count * SceneWorld.FeatureCount];
    for (int i = 0; i < items.Count; i++)
    {
        items[i].WriteFeatures(features.AsSpan(i * SceneWorld.FeatureCount, SceneWorld.FeatureCount));
    }

    return tensor(features, dtype: float32).reshape(items.Count, SceneWorld.FeatureCount);
}

// Valid positions: every token up to and including the first <eos> (token 0).
static Tensor EvidenceMask(Tensor tokens)
{
    var isEnd = tokens.eq(0).to(int64);
    return (isEnd.cumsum(1) - isEnd).eq(0);
}

static long[] Rollout(TinyPolicy policy, IReadOnlyList<VqaItem> items, Generator generator)
{
    using var scope = NewDisposeScope();
    return policy.Sample(Features(items), Temperature, generator).data<long>().ToArray();
}

static long[] GreedyTokens(TinyPolicy policy, IReadOnlyList<VqaItem> items)
{
    using var scope = NewDisposeScope();
    return policy.Greedy(Features(items)).data<long>().ToArray();
}

// Evidence sufficiency: the mean reward of greedy evidence on held-out items (the paper's blind-reader accuracy).
static async Task<double> EvaluateAsync(TinyPolicy policy, IReadOnlyList<VqaItem> items, IRewardModel rewardModel)
{
    long[] tokens = GreedyTokens(policy, items);
    var requests = items.Select((item, i) => new RewardRequest(
        item.Question, item.Gold, SceneWorld.Decode(tokens.AsSpan(i * TinyPolicy.EvidenceLength, TinyPolicy.EvidenceLength)))).ToList();
    var results = await rewardModel.ScoreAsync(requests);
    var failed = results.Count(r => !r.IsScored);
    if (failed > 0)
    {
        throw new InvalidOperationException($"{failed} reward calls failed during evaluation.");
    }

    return results.Average(r => r.Value);
}
