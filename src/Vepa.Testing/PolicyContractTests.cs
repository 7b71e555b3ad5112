using FluentAssertions;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Vepa.Testing;

/// <summary>
/// The contract every <see cref="IPolicy"/> and its <see cref="IPolicy.Sampler"/> meet (as stated on <see cref="IPolicy"/> and
/// <see cref="IRolloutSampler"/>). An implementation's test class inherits this class and overrides <see cref="CreatePolicy"/> and
/// <see cref="CreatePrompts"/>; every <c>[Fact]</c> below then runs against that implementation.
/// </summary>
/// <remarks>
/// <para>Protected hooks an implementation's test class may override:</para>
/// <list type="bullet">
/// <item><see cref="CreatePolicy"/> (required): a fresh trainable policy for one test; the test disposes it.</item>
/// <item><see cref="CreatePrompts"/> (required): at least two prompts the policy can encode.</item>
/// <item><see cref="Sampling"/>: the sampling settings, with a stop token of the policy's vocabulary where it has one (default: temperature 1, 4 new tokens, no stop token); tests without their own seed use 1234.</item>
/// <item><see cref="GroupSize"/>: completions per prompt (default 2).</item>
/// <item><see cref="Tolerance"/>: the absolute tolerance for comparing log-probs computed twice (default 1e-5).</item>
/// </list>
/// <para>Tests that compare log-probs of a changed policy perturb every trainable parameter under <c>no_grad</c>.</para>
/// </remarks>
public abstract class PolicyContractTests
{
    /// <summary>Gets G, the completions sampled per prompt.</summary>
    /// <value>The default is 2.</value>
    protected virtual int GroupSize => 2;

    /// <summary>Gets the absolute tolerance for log-probs that must agree.</summary>
    /// <value>The default is 1e-5.</value>
    protected virtual double Tolerance => 1e-5;

    /// <summary>Creates a fresh trainable policy under test.</summary>
    /// <returns>The policy; the test disposes it.</returns>
    protected abstract IPolicy CreatePolicy();

    /// <summary>Creates the prompts the tests sample from: at least two, each encodable by the policy.</summary>
    /// <returns>The prompts.</returns>
    protected abstract IReadOnlyList<PolicyPrompt> CreatePrompts();

    /// <summary>Gets the sampling settings the tests use; give a stop token of the policy's vocabulary where it has one.</summary>
    /// <value>The default samples at temperature 1, at most 4 new tokens, with no stop token. A <see langword="null"/> seed becomes 1234.</value>
    protected virtual SamplingOptions Sampling => new() { Temperature = 1.0, MaxNewTokens = 4 };

    /// <summary>Returns a copy of <see cref="Sampling"/> with a seed (1234 unless <see cref="Sampling"/> sets one).</summary>
    /// <returns>The settings for one call.</returns>
    protected SamplingOptions SeededSampling()
    {
        SamplingOptions options = Sampling.Clone();
        options.Seed ??= 1234;
        return options;
    }

    /// <summary>The sampler returns prompts × G rows, group after group, each with its text, truncation flag and a prefix-shaped mask.</summary>
    /// <returns>A task that completes when the test has run.</returns>
    [Fact]
    public async Task Sampler_returns_one_row_per_completion_with_a_prefix_mask()
    {
        using IPolicy policy = CreatePolicy();
        IReadOnlyList<PolicyPrompt> prompts = CreatePrompts();
        prompts.Count.Should().BeGreaterThanOrEqualTo(2, "the contract tests need at least two prompts");
        SamplingOptions options = SeededSampling();

        using RolloutBatch batch = await policy.Sampler.SampleAsync(prompts, GroupSize, options);

        int rows = prompts.Count * GroupSize;
        batch.Count.Should().Be(rows);
        batch.GroupSize.Should().Be(GroupSize);
        batch.CompletionIds.shape.Should().Equal(rows, batch.Length);
        batch.CompletionIds.dtype.Should().Be(ScalarType.Int64);
        batch.CompletionMask.shape.Should().Equal(rows, batch.Length);
        batch.CompletionMask.dtype.Should().Be(ScalarType.Bool);
        batch.Texts.Should().HaveCount(rows);
        batch.Truncated.Should().HaveCount(rows);
        batch.Length.Should().BeLessThanOrEqualTo(options.MaxNewTokens);
        for (int r = 0; r < rows; r++)
        {
            batch.PromptOf(r).Should().BeSameAs(prompts[r / GroupSize], $"row {r} belongs to group {r / GroupSize}");
        }

        bool[] mask = batch.CompletionMask.cpu().data<bool>().ToArray();
        long[] ids = batch.CompletionIds.cpu().data<long>().ToArray();
        for (int r = 0; r < rows; r++)
        {
            int length = 0;
            while (length < batch.Length && mask[(r * batch.Length) + length])
            {
                length++;
            }

            for (int t = length; t < batch.Length; t++)
            {
                mask[(r * batch.Length) + t].Should().BeFalse($"row {r}: the mask is true up to the end of the completion and false after it");
            }

            length.Should().BeGreaterThan(0, $"row {r} has at least one completion token");
            bool endsWithStop = options.StopTokenIds.Contains(ids[(r * batch.Length) + length - 1]);
            if (batch.Truncated[r])
            {
                length.Should().Be(options.MaxNewTokens, $"row {r} is truncated, so it used every new token");
                endsWithStop.Should().BeFalse($"row {r} is truncated, so it has no stop token");
            }
            else if (options.StopTokenIds.Count > 0)
            {
                endsWithStop.Should().BeTrue($"row {r} is not truncated, so it ends with a stop token");
            }
        }
    }

    /// <summary>The same seed, prompts, options and weights give the same completions.</summary>
    /// <returns>A task that completes when the test has run.</returns>
    [Fact]
    public async Task Sampling_with_the_same_seed_repeats()
    {
        using IPolicy policy = CreatePolicy();
        IReadOnlyList<PolicyPrompt> prompts = CreatePrompts();
        SamplingOptions options = SeededSampling();

        using RolloutBatch first = await policy.Sampler.SampleAsync(prompts, GroupSize, options);
        using RolloutBatch second = await policy.Sampler.SampleAsync(prompts, GroupSize, options);

        second.CompletionIds.cpu().data<long>().ToArray().Should().Equal(first.CompletionIds.cpu().data<long>().ToArray());
        second.Texts.Should().Equal(first.Texts);
    }

    /// <summary>Log-probs are [B, T], finite and at most 0 at every masked-in position, and carry gradient to every trainable parameter.</summary>
    /// <returns>A task that completes when the test has run.</returns>
    [Fact]
    public async Task Log_probs_are_valid_and_carry_gradient_to_the_trainable_parameters()
    {
        using IPolicy policy = CreatePolicy();
        using RolloutBatch batch = await policy.Sampler.SampleAsync(CreatePrompts(), GroupSize, SeededSampling());
        using var scope = NewDisposeScope();
        policy.TrainableParameters.Should().NotBeEmpty();
        foreach (TorchSharp.Modules.Parameter parameter in policy.TrainableParameters)
        {
            parameter.grad?.zero_();
        }

        using PolicyLogProbs result = policy.ComputeLogProbs(batch, new PolicyLogProbOptions { Temperature = SeededSampling().Temperature });

        Tensor logProbs = result.LogProbs;
        logProbs.shape.Should().Equal(batch.Count, batch.Length);
        Tensor mask = batch.CompletionMask.to(logProbs.device);
        Tensor valid = logProbs.masked_select(mask).to(ScalarType.Float64).cpu();
        valid.isfinite().all().item<bool>().Should().BeTrue("log-probs at masked-in positions are finite");
        valid.max().item<double>().Should().BeLessThanOrEqualTo(Tolerance, "log-probs are at most 0");
        logProbs.requires_grad.Should().BeTrue("log-probs carry gradient outside no_grad");

        logProbs.masked_fill(mask.logical_not(), 0).sum().backward();

        policy.TrainableParameters.Where(p => p.grad is null).Should().BeEmpty("every trainable parameter takes part in the log-probs");
        bool nonZero = policy.TrainableParameters.Any(p => p.grad!.abs().sum().to(ScalarType.Float64).item<double>() > 0);
        nonZero.Should().BeTrue("the gradient of the log-probs is not zero everywhere");
    }

    /// <summary>The rows option computes the requested rows, in the requested order, equal to those rows of a full computation.</summary>
    /// <returns>A task that completes when the test has run.</returns>
    [Fact]
    public async Task Requested_rows_equal_those_rows_of_the_full_batch()
    {
        using IPolicy policy = CreatePolicy();
        using RolloutBatch batch = await policy.Sampler.SampleAsync(CreatePrompts(), GroupSize, SeededSampling());
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        double temperature = SeededSampling().Temperature;
        int[] rows = [batch.Count - 1, 0];

        using PolicyLogProbs all = policy.ComputeLogProbs(batch, new PolicyLogProbOptions { Temperature = temperature });
        using PolicyLogProbs some = policy.ComputeLogProbs(batch, new PolicyLogProbOptions { Temperature = temperature, Rows = rows });

        some.LogProbs.shape.Should().Equal(rows.Length, batch.Length);
        Tensor index = tensor(rows.Select(r => (long)r).ToArray(), device: all.LogProbs.device);
        Tensor mask = batch.CompletionMask.to(all.LogProbs.device).index_select(0, index);
        Tensor expected = all.LogProbs.index_select(0, index).masked_fill(mask.logical_not(), 0);
        Tensor actual = some.LogProbs.masked_fill(mask.logical_not(), 0);
        (actual - expected).abs().max().to(ScalarType.Float64).item<double>().Should().BeLessThanOrEqualTo(Tolerance);
    }

    /// <summary>The reference copy is frozen and independent: it has no trainable parameters and later updates of the policy do not change it.</summary>
    /// <returns>A task that completes when the test has run.</returns>
    [Fact]
    public async Task The_reference_is_a_frozen_independent_copy()
    {
        using IPolicy policy = CreatePolicy();
        using RolloutBatch batch = await policy.Sampler.SampleAsync(CreatePrompts(), GroupSize, SeededSampling());
        using IPolicy reference = policy.CreateReference();
        reference.TrainableParameters.Should().BeEmpty("the reference is frozen");
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var options = new PolicyLogProbOptions { Temperature = SeededSampling().Temperature };
        Tensor mask = batch.CompletionMask;

        Tensor before = MaskedCpu(reference.ComputeLogProbs(batch, options), mask);
        MaxDifference(MaskedCpu(policy.ComputeLogProbs(batch, options), mask), before).Should().BeLessThanOrEqualTo(Tolerance, "a fresh reference equals its policy");
        Perturb(policy);

        MaxDifference(MaskedCpu(reference.ComputeLogProbs(batch, options), mask), before).Should().BeLessThanOrEqualTo(Tolerance, "updating the policy leaves the reference unchanged");
        MaxDifference(MaskedCpu(policy.ComputeLogProbs(batch, options), mask), before).Should().BeGreaterThan(Tolerance, "the perturbed policy differs (the test's sanity check)");
    }

    /// <summary><see cref="IPolicy.GetState"/> and <see cref="IPolicy.LoadState"/> round-trip exactly.</summary>
    /// <returns>A task that completes when the test has run.</returns>
    [Fact]
    public async Task State_round_trips_exactly()
    {
        using IPolicy policy = CreatePolicy();
        using RolloutBatch batch = await policy.Sampler.SampleAsync(CreatePrompts(), GroupSize, SeededSampling());
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var options = new PolicyLogProbOptions { Temperature = SeededSampling().Temperature };
        Dictionary<string, Tensor> saved = policy.GetState().ToDictionary(kv => kv.Key, kv => kv.Value.clone());
        saved.Should().NotBeEmpty();
        Tensor before = MaskedCpu(policy.ComputeLogProbs(batch, options), batch.CompletionMask);

        Perturb(policy);
        policy.LoadState(saved);

        foreach ((string name, Tensor value) in policy.GetState())
        {
            value.shape.Should().Equal(saved[name].shape, $"state '{name}' keeps its shape");
            value.eq(saved[name]).all().item<bool>().Should().BeTrue($"state '{name}' is restored exactly");
        }

        MaxDifference(MaskedCpu(policy.ComputeLogProbs(batch, options), batch.CompletionMask), before).Should().Be(0, "the restored policy computes the same log-probs");
    }

    /// <summary>A state loads into another instance exactly; a missing or unexpected name, or a wrong shape, is rejected with an error naming it.</summary>
    [Fact]
    public void State_loads_into_another_instance_and_bad_states_are_rejected_naming_the_problem()
    {
        using IPolicy source = CreatePolicy();
        using IPolicy target = CreatePolicy();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        Dictionary<string, Tensor> state = source.GetState().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone() + 0.5);

        target.LoadState(state);

        foreach ((string name, Tensor value) in target.GetState())
        {
            value.eq(state[name]).all().item<bool>().Should().BeTrue($"state '{name}' is loaded exactly");
        }

        string first = state.Keys.First();
        var renamed = new Dictionary<string, Tensor>(state);
        renamed.Remove(first);
        renamed["not-a-parameter"] = state[first];
        Action loadRenamed = () => target.LoadState(renamed);
        loadRenamed.Should().Throw<ArgumentException>().Which.Message.Should().Contain(first).And.Contain("not-a-parameter");

        var reshaped = new Dictionary<string, Tensor>(state) { [first] = zeros(3, 1, 7) };
        Action loadReshaped = () => target.LoadState(reshaped);
        loadReshaped.Should().Throw<ArgumentException>().Which.Message.Should().Contain(first);
    }

    /// <summary><see langword="null"/> arguments throw <see cref="ArgumentNullException"/>.</summary>
    /// <returns>A task that completes when the test has run.</returns>
    [Fact]
    public async Task Null_arguments_throw_ArgumentNullException()
    {
        using IPolicy policy = CreatePolicy();

        Func<Task> sampleNullPrompts = () => policy.Sampler.SampleAsync(null!, GroupSize, SeededSampling());
        Func<Task> sampleNullOptions = () => policy.Sampler.SampleAsync(CreatePrompts(), GroupSize, null!);
        Action logProbsOfNull = () => policy.ComputeLogProbs(null!, new PolicyLogProbOptions());
        Action loadNull = () => policy.LoadState(null!);
        Action serviceOfNull = () => policy.GetService(null!);

        await sampleNullPrompts.Should().ThrowAsync<ArgumentNullException>();
        await sampleNullOptions.Should().ThrowAsync<ArgumentNullException>();
        logProbsOfNull.Should().Throw<ArgumentNullException>();
        loadNull.Should().Throw<ArgumentNullException>();
        serviceOfNull.Should().Throw<ArgumentNullException>();
    }

    /// <summary>Sampling with a cancelled token throws <see cref="OperationCanceledException"/>.</summary>
    /// <returns>A task that completes when the test has run.</returns>
    [Fact]
    public async Task Cancelled_sampling_throws_OperationCanceledException()
    {
        using IPolicy policy = CreatePolicy();
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();

        Func<Task> act = () => policy.Sampler.SampleAsync(CreatePrompts(), GroupSize, SeededSampling(), cts.Token);

        await act.Should().ThrowAsync<OperationCanceledException>();
    }

    /// <summary>Adds small random noise to every trainable parameter, under <c>no_grad</c>.</summary>
    /// <param name="policy">The policy to change.</param>
    protected static void Perturb(IPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        using var noGrad = no_grad();
        using var generator = new Generator(97);
        foreach (TorchSharp.Modules.Parameter parameter in policy.TrainableParameters)
        {
            using Tensor noise = randn(parameter.shape, dtype: parameter.dtype, generator: generator).to(parameter.device) * 0.5;
            parameter.add_(noise);
        }
    }

    private static Tensor MaskedCpu(PolicyLogProbs result, Tensor mask)
    {
        using (result)
        {
            return result.LogProbs.masked_fill(mask.to(result.LogProbs.device).logical_not(), 0).to(ScalarType.Float64).cpu();
        }
    }

    private static double MaxDifference(Tensor a, Tensor b) => (a - b).abs().max().item<double>();
}
