using Vepa.Grpo.Tests.Training;

namespace Vepa.Grpo.Tests.Policies;

/// <summary>
/// The shared policy contract (Vepa.Testing) for <see cref="TorchPolicy"/> over a module without a KV cache (the adapter
/// recomputes every prefix), with G = 3; the KV-cached and vision-language cases are in <c>Training/TorchPolicyContractTests.cs</c>.
/// </summary>
public sealed class RecomputingTorchPolicyContractTests : PolicyContractTests
{
    protected override int GroupSize => 3;

    protected override SamplingOptions Sampling => new() { Temperature = 1.0, MaxNewTokens = 3, StopTokenIds = [0], Seed = 11 };

    protected override IPolicy CreatePolicy() => new TorchPolicy(new TinyCausalModule(ToyTask.Vocabulary.Length, 8, seed: 5, cache: false), ToyTask.Tokenizer);

    protected override IReadOnlyList<PolicyPrompt> CreatePrompts() => ToyTask.Batch(step: 1, prompts: 2);
}
