using Vepa.Grpo.Tests.Training;
using Vepa.Testing;

namespace Vepa.Grpo.Tests.Policies;

/// <summary><see cref="TorchPolicy"/> over a KV-cached causal module meets the shared policy contract from Vepa.Testing.</summary>
[Collection("Sequential")]
public sealed class TorchPolicyContractTests : PolicyContractTests
{
    protected override IPolicy CreatePolicy() => new TorchPolicy(new TinyCausalModule(ToyTask.Vocabulary.Length, 16, seed: 3), ToyTask.Tokenizer);

    protected override IReadOnlyList<PolicyPrompt> CreatePrompts() => ToyTask.Batch(step: 0, prompts: 3);

    protected override SamplingOptions CreateSamplingOptions() => new() { Temperature = 1.0, MaxNewTokens = 3, StopTokenIds = [0], Seed = 11 };
}

/// <summary>The same contract without a KV cache (the adapter recomputes every prefix) and with G = 3.</summary>
[Collection("Sequential")]
public sealed class RecomputingTorchPolicyContractTests : PolicyContractTests
{
    protected override int GroupSize => 3;

    protected override IPolicy CreatePolicy() => new TorchPolicy(new TinyCausalModule(ToyTask.Vocabulary.Length, 8, seed: 5, cache: false), ToyTask.Tokenizer);

    protected override IReadOnlyList<PolicyPrompt> CreatePrompts() => ToyTask.Batch(step: 1, prompts: 2);
}
