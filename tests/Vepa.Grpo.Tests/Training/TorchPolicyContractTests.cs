using static TorchSharp.torch;

namespace Vepa.Grpo.Tests.Training;

/// <summary>The policy contract for a text-only <see cref="TorchPolicy"/> with a KV-cached module and prompts of two lengths.</summary>
public sealed class TorchPolicyContractTests : PolicyContractTests
{
    protected override SamplingOptions Sampling => new() { Temperature = 1.0, MaxNewTokens = 4, StopTokenIds = [0] };

    protected override IPolicy CreatePolicy() => new TorchPolicy(new TinyCausalModule(ToyTask.Vocabulary.Length, 8, seed: 12), ToyTask.Tokenizer);

    protected override IReadOnlyList<PolicyPrompt> CreatePrompts() => [ToyTask.Prompt(0), new("q", "red", [1, 3, 4]), ToyTask.Prompt(2)];
}

/// <summary>The policy contract for a vision-language <see cref="TorchPolicy"/>: image prompts give the prefix.</summary>
public sealed class VisionTorchPolicyContractTests : PolicyContractTests, IDisposable
{
    private readonly Tensor _first = rand(3, 4, 4).DetachFromDisposeScope();
    private readonly Tensor _second = rand(3, 4, 4).DetachFromDisposeScope();

    protected override SamplingOptions Sampling => new() { Temperature = 1.0, MaxNewTokens = 4, StopTokenIds = [0] };

    public void Dispose()
    {
        _first.Dispose();
        _second.Dispose();
    }

    protected override IPolicy CreatePolicy() => new TorchPolicy(new TinyCausalModule(ToyTask.Vocabulary.Length, 8, seed: 13, imageSize: 4), ToyTask.Tokenizer);

    protected override IReadOnlyList<PolicyPrompt> CreatePrompts() => [new("What color?", "red", [1], _first), new("What color?", "blue", [1], _second)];
}
