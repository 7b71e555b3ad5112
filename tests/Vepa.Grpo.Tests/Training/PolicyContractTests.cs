using TorchSharp;
using static TorchSharp.torch;

namespace Vepa.Grpo.Tests.Training;

/// <summary>
/// The contract every <see cref="IPolicy"/> meets (see its remarks). A policy's tests inherit this class and supply the policy
/// and prompts it can encode; the tests below then run against it.
/// </summary>
public abstract class PolicyContractTests
{
    /// <summary>Creates a fresh policy (float32 or float64, on the CPU).</summary>
    protected abstract IPolicy CreatePolicy();

    /// <summary>Creates prompts the policy can encode (at least two).</summary>
    protected abstract IReadOnlyList<PolicyPrompt> CreatePrompts();

    /// <summary>Gets sampling settings with a stop token of the policy's vocabulary.</summary>
    protected abstract SamplingOptions Sampling { get; }

    private static double Scalar(Tensor value) => value.to(ScalarType.Float64).item<double>();

    [Fact]
    public async Task Sampling_returns_prompts_times_G_rows_with_a_mask_that_ends_at_the_stop_token()
    {
        using var policy = CreatePolicy();
        var prompts = CreatePrompts();
        var options = Sampling.Clone();
        options.Seed = 1;

        using var batch = await policy.Sampler.SampleAsync(prompts, 3, options);

        batch.Count.Should().Be(prompts.Count * 3);
        batch.Texts.Should().HaveCount(batch.Count);
        batch.Truncated.Should().HaveCount(batch.Count);
        long[] ids = batch.CompletionIds.data<long>().ToArray();
        bool[] mask = batch.CompletionMask.data<bool>().ToArray();
        for (int row = 0; row < batch.Count; row++)
        {
            var rowMask = mask.Skip(row * batch.Length).Take(batch.Length).ToArray();
            int length = rowMask.TakeWhile(m => m).Count();
            rowMask.Skip(length).Should().NotContain(true, "the mask is a prefix");
            length.Should().BeGreaterThan(0);
            bool stopped = options.StopTokenIds.Contains(ids[(row * batch.Length) + length - 1]);
            batch.Truncated[row].Should().Be(!stopped, $"row {row} is truncated exactly when it did not end with a stop token");
            if (!stopped)
            {
                length.Should().Be(options.MaxNewTokens);
            }
        }
    }

    [Fact]
    public async Task The_same_seed_gives_the_same_rollouts()
    {
        using var policy = CreatePolicy();
        var options = Sampling.Clone();
        options.Seed = 7;

        using var first = await policy.Sampler.SampleAsync(CreatePrompts(), 4, options);
        using var second = await policy.Sampler.SampleAsync(CreatePrompts(), 4, options);

        second.CompletionIds.data<long>().ToArray().Should().Equal(first.CompletionIds.data<long>().ToArray());
        second.Texts.Should().Equal(first.Texts);
    }

    [Fact]
    public async Task Log_probs_have_the_rollouts_shape_are_at_most_0_and_carry_gradient_to_every_trainable_parameter()
    {
        using var policy = CreatePolicy();
        var options = Sampling.Clone();
        options.Seed = 2;
        using var batch = await policy.Sampler.SampleAsync(CreatePrompts(), 2, options);
        using var scope = NewDisposeScope();

        var logProbs = policy.ComputeLogProbs(batch, new PolicyLogProbOptions { Temperature = options.Temperature }).LogProbs;

        logProbs.shape.Should().Equal(batch.Count, batch.Length);
        var valid = logProbs.masked_select(batch.CompletionMask);
        Scalar(valid.max()).Should().BeLessThanOrEqualTo(0);
        logProbs.masked_fill(batch.CompletionMask.logical_not(), 0).sum().backward();
        policy.TrainableParameters.Should().NotBeEmpty();
        policy.TrainableParameters.Should().OnlyContain(p => !ReferenceEquals(p.grad, null), "every trainable parameter takes part in the log-probs");
    }

    [Fact]
    public async Task Log_probs_of_selected_rows_equal_those_rows_of_the_full_batch()
    {
        using var policy = CreatePolicy();
        var options = Sampling.Clone();
        options.Seed = 3;
        using var batch = await policy.Sampler.SampleAsync(CreatePrompts(), 2, options);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        int[] rows = [batch.Count - 1, 0, batch.Count / 2];

        var all = policy.ComputeLogProbs(batch, new PolicyLogProbOptions()).LogProbs;
        var some = policy.ComputeLogProbs(batch, new PolicyLogProbOptions { Rows = rows }).LogProbs;

        var expected = all.index_select(0, tensor(rows.Select(r => (long)r).ToArray()));
        var mask = batch.CompletionMask.index_select(0, tensor(rows.Select(r => (long)r).ToArray()));
        Scalar((some - expected).masked_fill(mask.logical_not(), 0).abs().max()).Should().BeLessThan(1e-5);
    }

    [Fact]
    public async Task The_reference_is_frozen_and_does_not_follow_updates()
    {
        using var policy = CreatePolicy();
        using var reference = policy.CreateReference();
        var options = Sampling.Clone();
        options.Seed = 4;
        using var batch = await policy.Sampler.SampleAsync(CreatePrompts(), 2, options);
        using var scope = NewDisposeScope();
        var before = reference.ComputeLogProbs(batch, new PolicyLogProbOptions()).LogProbs.detach().clone();

        using (no_grad())
        {
            foreach (var p in policy.TrainableParameters)
            {
                p.add_(0.25);
            }
        }

        reference.TrainableParameters.Should().BeEmpty();
        var after = reference.ComputeLogProbs(batch, new PolicyLogProbOptions()).LogProbs;
        Scalar((after - before).abs().max()).Should().Be(0);
    }

    [Fact]
    public void State_round_trips_exactly_and_a_wrong_name_or_shape_is_rejected_naming_it()
    {
        using var source = CreatePolicy();
        using var target = CreatePolicy();
        using var scope = NewDisposeScope();
        var state = source.GetState().ToDictionary(e => e.Key, e => e.Value.detach().clone() + 0.5);

        target.LoadState(state);

        foreach (var (name, value) in target.GetState())
        {
            Scalar((value - state[name]).abs().max()).Should().Be(0, name);
        }

        string first = state.Keys.First();
        var renamed = new Dictionary<string, Tensor>(state);
        renamed.Remove(first);
        renamed["not-a-parameter"] = state[first];
        target.Invoking(t => t.LoadState(renamed)).Should().Throw<ArgumentException>().WithMessage($"*missing \"{first}\"*unexpected \"not-a-parameter\"*");
        var reshaped = new Dictionary<string, Tensor>(state) { [first] = zeros(3, 1, 7) };
        target.Invoking(t => t.LoadState(reshaped)).Should().Throw<ArgumentException>().WithMessage($"*\"{first}\" has shape [3, 1, 7]*");
    }
}
