using TorchSharp;
using static TorchSharp.torch;

namespace Vepa.Core.Tests.Policies;

public sealed class RolloutBatchTests
{
    private static readonly PolicyPrompt First = new("What color?", "red", [1, 2]) { Id = "item-7", Metadata = new Dictionary<string, object?> { ["image"] = "7.png" } };
    private static readonly PolicyPrompt Second = new("How many?", "2", [1, 3], choices: ["1", "2", "3"]);

    [Fact]
    public void Rows_map_to_reward_requests_with_the_completion_text_as_evidence()
    {
        using var batch = NewBatch();

        var requests = batch.ToRewardRequests();

        requests.Select(r => r.Evidence).Should().Equal("a", "b", "c", "d");
        requests.Select(r => r.Question).Should().Equal("What color?", "What color?", "How many?", "How many?");
        requests.Select(r => r.Id).Should().Equal("item-7#0", "item-7#1", "1#0", "1#1");
        requests[2].Choices.Should().Equal("1", "2", "3");
        requests[0].Metadata.Should().ContainKey("image");
    }

    [Fact]
    public void A_host_mapping_builds_the_requests()
    {
        using var batch = NewBatch();

        var requests = batch.ToRewardRequests((prompt, text, row) => new RewardRequest(prompt.Question, prompt.GoldAnswer, $"{row}:{text}"));

        requests.Select(r => r.Evidence).Should().Equal("0:a", "1:b", "2:c", "3:d");
    }

    [Fact]
    public void Layout_and_lengths_follow_the_mask()
    {
        using var batch = NewBatch();

        batch.Count.Should().Be(4);
        batch.PromptCount.Should().Be(2);
        batch.Length.Should().Be(3);
        batch.PromptOf(3).Should().BeSameAs(Second);
        batch.CompletionLengths.Should().Equal(3, 1, 2, 0);
    }

    [Fact]
    public void Sampler_log_probs_of_another_shape_are_rejected()
    {
        using var scope = NewDisposeScope();
        var create = () => new RolloutBatch(
            [First], 2, zeros(2, 3, dtype: ScalarType.Int64), ones(2, 3, dtype: ScalarType.Bool), [false, false], ["a", "b"], zeros(2, 2));

        create.Should().Throw<ArgumentException>().WithMessage("samplerLogProbs must have the shape of completionIds [2, 3]; got [2, 2].*");
    }

    [Fact]
    public void A_prompt_needs_a_token_or_an_input_tensor()
    {
        var create = () => new PolicyPrompt("q", "a", []);

        create.Should().Throw<ArgumentException>().WithMessage("A prompt needs at least one token id or an inputs tensor*");
    }

    [Fact]
    public void Sampling_options_list_every_problem()
    {
        var options = new SamplingOptions { Temperature = -1, TopP = 0, TopK = -2, MaxNewTokens = 0 };

        options.Invoking(o => o.Validate()).Should().Throw<ArgumentException>()
            .WithMessage("Invalid SamplingOptions: Temperature must be finite and >= 0 (0 = greedy); got -1. TopP must be in (0, 1]; got 0. TopK must be >= 0 (0 or null disables it); got -2. MaxNewTokens must be >= 1; got 0.*");
    }

    private static RolloutBatch NewBatch()
    {
        using var scope = NewDisposeScope();
        var mask = tensor(new[] { true, true, true, true, false, false, true, true, false, false, false, false }, [4, 3]);
        return new RolloutBatch([First, Second], 2, zeros(4, 3, dtype: ScalarType.Int64), mask, [true, false, false, false], ["a", "b", "c", "d"]);
    }
}
