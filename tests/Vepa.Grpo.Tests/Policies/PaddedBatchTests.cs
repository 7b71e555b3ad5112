using TorchSharp;
using static TorchSharp.torch;

namespace Vepa.Grpo.Tests.Policies;

/// <summary>
/// Prompts of different lengths (some with interleaved images) sample and score in one left-padded batch through
/// <see cref="PolicyModule.Forward(PolicyForwardInputs)"/>, exactly as each prompt does alone; padded LM-head rows are inert.
/// </summary>
public sealed class PaddedBatchTests : IDisposable
{
    private readonly InterleavedTask _task = new();

    public void Dispose() => _task.Dispose();

    [Fact]
    public void Position_ids_count_real_positions_and_give_pads_1_as_Hugging_Face_does()
    {
        using var scope = NewDisposeScope();
        var mask = tensor(new long[] { 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 0, 1 }, [3, 5]);

        var positions = PromptRows.PositionsOf(mask);

        // By hand: cumsum(mask) − 1 at real positions, 1 at pads.
        positions.data<long>().ToArray().Should().Equal(1, 1, 0, 1, 2, 0, 1, 2, 3, 4, 1, 0, 1, 1, 2);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_padded_batch_scores_every_row_exactly_as_an_unpadded_pass_of_that_row_alone(bool cache)
    {
        var module = new InterleavedCausalModule(InterleavedTask.HeadRows, 8, seed: 3, InterleavedTask.ImageToken, cache);
        module.to(ScalarType.Float64);
        using var policy = new TorchPolicy(module, InterleavedTask.Tokenizer, new TorchPolicyOptions { PromptPadTokenId = 9 });
        var prompts = _task.Prompts;
        using var rollouts = await policy.Sampler.SampleAsync(prompts, 2, new SamplingOptions { MaxNewTokens = 5, StopTokenIds = [0], Seed = 21 });
        int[] rows = [7, 0, 5, 2, 4, 1];
        using var scope = NewDisposeScope();
        int callsBefore = module.MaskedForwardCalls;

        var logProbs = policy.ComputeLogProbs(rollouts, new PolicyLogProbOptions { Temperature = 0.7, Rows = rows }).LogProbs;

        module.MaskedForwardCalls.Should().Be(callsBefore + 1, "prompts of four lengths share one padded forward pass");
        var weight = module.LmHeadWeight.narrow(0, 0, InterleavedTask.Words.Length);
        for (int i = 0; i < rows.Length; i++)
        {
            // Reference: the row alone, no padding, no mask; plain logits over the tokenizer's ids, log_softmax, gather.
            int row = rows[i];
            var prompt = prompts[row / 2];
            var completion = rollouts.CompletionIds[row].unsqueeze(0);
            long t = completion.shape[1], l = prompt.PromptTokenIds.Count;
            var input = cat([tensor(prompt.PromptTokenIds.ToArray()).unsqueeze(0), completion.narrow(1, 0, t - 1)], 1);
            var hidden = module.Forward(new PolicyForwardInputs(input, [prompt]) { PromptLength = l });
            var expected = (hidden.narrow(1, l - 1, t).matmul(weight.t()) / 0.7).log_softmax(-1).gather(-1, completion.unsqueeze(-1)).reshape(t);
            var mask = rollouts.CompletionMask[row];
            mask.sum().item<long>().Should().BeGreaterThan(0);
            (logProbs[i] - expected).masked_fill(mask.logical_not(), 0).abs().max().item<double>().Should().BeLessThan(1e-10, $"row {row} ({prompt.Id})");
        }
    }

    [Fact]
    public async Task Cached_decoding_with_the_modules_position_offset_samples_exactly_what_recompute_samples()
    {
        var cached = new InterleavedCausalModule(InterleavedTask.HeadRows, 8, seed: 4, InterleavedTask.ImageToken, cache: true);
        var recompute = new InterleavedCausalModule(InterleavedTask.HeadRows, 8, seed: 4, InterleavedTask.ImageToken, cache: false);
        cached.to(ScalarType.Float64);
        recompute.to(ScalarType.Float64);
        using var a = new TorchPolicy(cached, InterleavedTask.Tokenizer);
        using var b = new TorchPolicy(recompute, InterleavedTask.Tokenizer);
        var options = new SamplingOptions { MaxNewTokens = 6, StopTokenIds = [0], Seed = 8 };

        using var fromCache = await a.Sampler.SampleAsync(_task.Prompts, 4, options);
        using var fromRecompute = await b.Sampler.SampleAsync(_task.Prompts, 4, options);

        fromCache.CompletionIds.data<long>().ToArray().Should().Equal(fromRecompute.CompletionIds.data<long>().ToArray());
        (fromCache.SamplerLogProbs! - fromRecompute.SamplerLogProbs!).abs().max().item<double>().Should().BeLessThan(1e-10);
        fromCache.CompletionLengths.Should().Contain(l => l >= 3, "some completions run several cached steps, where the rope delta matters");
    }

    [Fact]
    public async Task The_sampler_log_probs_of_a_padded_batch_equal_the_policy_log_probs_at_temperature_1()
    {
        var module = new InterleavedCausalModule(InterleavedTask.HeadRows, 8, seed: 5, InterleavedTask.ImageToken);
        module.to(ScalarType.Float64);
        using var policy = new TorchPolicy(module, InterleavedTask.Tokenizer);
        using var rollouts = await policy.Sampler.SampleAsync(_task.Prompts, 3, new SamplingOptions { MaxNewTokens = 5, StopTokenIds = [0], Seed = 2 });
        using var scope = NewDisposeScope();

        var logProbs = policy.ComputeLogProbs(rollouts, new PolicyLogProbOptions()).LogProbs;

        var gap = (logProbs - rollouts.SamplerLogProbs!).masked_fill(rollouts.CompletionMask.logical_not(), 0).abs().max().item<double>();
        gap.Should().BeLessThan(1e-10, "sampling (KV-cached, padded) and scoring (one pass) see the same distribution over the tokenizer's ids");
    }

    [Fact]
    public async Task Seeded_padded_sampling_repeats_and_another_seed_differs()
    {
        using var policy = new TorchPolicy(new InterleavedCausalModule(InterleavedTask.HeadRows, 8, seed: 6, InterleavedTask.ImageToken), InterleavedTask.Tokenizer);
        var options = new SamplingOptions { MaxNewTokens = 4, Seed = 1 };

        using var first = await policy.Sampler.SampleAsync(_task.Prompts, 4, options);
        using var again = await policy.Sampler.SampleAsync(_task.Prompts, 4, options);
        options.Seed = 2;
        using var other = await policy.Sampler.SampleAsync(_task.Prompts, 4, options);

        again.CompletionIds.data<long>().ToArray().Should().Equal(first.CompletionIds.data<long>().ToArray());
        other.CompletionIds.data<long>().ToArray().Should().NotEqual(first.CompletionIds.data<long>().ToArray());
    }

    [Fact]
    public async Task Padded_LM_head_rows_beyond_the_tokenizer_are_never_sampled_scored_or_trained()
    {
        var module = new InterleavedCausalModule(InterleavedTask.HeadRows, 8, seed: 7, InterleavedTask.ImageToken);
        module.to(ScalarType.Float64);
        int vocabulary = InterleavedTask.Words.Length;
        using (no_grad())
        {
            // Make the padded rows dominate: as logits they would take nearly all the probability.
            module.LmHeadWeight.narrow(0, vocabulary, InterleavedTask.HeadRows - vocabulary).mul_(0).add_(module.LmHeadWeight.narrow(0, 6, 1) * 50);
        }

        using var policy = new TorchPolicy(module, InterleavedTask.Tokenizer);
        using var rollouts = await policy.Sampler.SampleAsync(_task.Prompts, 16, new SamplingOptions { MaxNewTokens = 3, Seed = 3 });
        rollouts.CompletionIds.max().item<long>().Should().BeLessThan(vocabulary);

        using var scope = NewDisposeScope();
        var logProbs = policy.ComputeLogProbs(rollouts, new PolicyLogProbOptions()).LogProbs;
        // Reference for row 0 from plain ops over the first V_tok rows only.
        var prompt = _task.Prompts[0];
        var completion = rollouts.CompletionIds[0].unsqueeze(0);
        long t = completion.shape[1], l = prompt.PromptTokenIds.Count;
        var input = cat([tensor(prompt.PromptTokenIds.ToArray()).unsqueeze(0), completion.narrow(1, 0, t - 1)], 1);
        var hidden = module.Forward(new PolicyForwardInputs(input, [prompt]) { PromptLength = l }).narrow(1, l - 1, t);
        var expected = hidden.matmul(module.LmHeadWeight.narrow(0, 0, vocabulary).t()).log_softmax(-1).gather(-1, completion.unsqueeze(-1)).reshape(t);
        (logProbs[0] - expected).masked_fill(rollouts.CompletionMask[0].logical_not(), 0).abs().max().item<double>().Should().BeLessThan(1e-10);

        logProbs.masked_fill(rollouts.CompletionMask.logical_not(), 0).sum().backward();
        var grad = module.LmHeadWeight.grad!;
        grad.narrow(0, vocabulary, InterleavedTask.HeadRows - vocabulary).abs().max().item<double>().Should().Be(0);
        grad.narrow(0, 0, vocabulary).abs().max().item<double>().Should().BeGreaterThan(0);
    }

    [Fact]
    public void A_tokenizer_with_more_ids_than_the_LM_head_rows_is_rejected_with_both_sizes()
    {
        var create = () => new TorchPolicy(new InterleavedCausalModule(8, 8, seed: 1, InterleavedTask.ImageToken), InterleavedTask.Tokenizer);

        create.Should().Throw<ArgumentException>().WithMessage("The tokenizer's 10 ids must fit the LM head's V = 8 rows*").And.ParamName.Should().Be("tokenizer");
    }

    [Fact]
    public async Task A_module_that_claims_masks_but_keeps_the_simple_Forward_is_told_to_override_the_padded_one()
    {
        using var policy = new TorchPolicy(new MaskClaimingModule(), InterleavedTask.Tokenizer);

        var sample = () => policy.Sampler.SampleAsync(_task.Prompts, 1, new SamplingOptions { MaxNewTokens = 2 });

        await sample.Should().ThrowAsync<InvalidOperationException>().WithMessage("*SupportsAttentionMask = true but does not override Forward(PolicyForwardInputs)*");
    }

    [Fact]
    public async Task A_module_that_overrides_neither_Forward_is_told_which_to_override()
    {
        using var policy = new TorchPolicy(new ForwardlessModule(), InterleavedTask.Tokenizer);

        var sample = () => policy.Sampler.SampleAsync(_task.Prompts, 1, new SamplingOptions { MaxNewTokens = 2 });

        await sample.Should().ThrowAsync<NotSupportedException>().WithMessage("ForwardlessModule must override Forward(Tensor?, Tensor, KeyValueCache?) or Forward(PolicyForwardInputs).");
    }

    private sealed class MaskClaimingModule : PolicyModule
    {
        private readonly TorchSharp.Modules.Parameter _head = new(zeros(10, 4));

        public MaskClaimingModule()
            : base(nameof(MaskClaimingModule)) => RegisterComponents();

        public override Tensor LmHeadWeight => _head;

        public override bool SupportsAttentionMask => true;

        public override Tensor Forward(Tensor? prefix, Tensor tokenIds, KeyValueCache? cache) => zeros(tokenIds.shape[0], tokenIds.shape[1], 4);

        public override PolicyModule CloneArchitecture() => new MaskClaimingModule();
    }

    private sealed class ForwardlessModule : PolicyModule
    {
        private readonly TorchSharp.Modules.Parameter _head = new(zeros(10, 4));

        public ForwardlessModule()
            : base(nameof(ForwardlessModule)) => RegisterComponents();

        public override Tensor LmHeadWeight => _head;

        public override PolicyModule CloneArchitecture() => new ForwardlessModule();
    }
}

/// <summary>The shared policy contract for a module that takes padded batches with interleaved images (prompts of four lengths in one batch).</summary>
public sealed class PaddedTorchPolicyContractTests : PolicyContractTests, IDisposable
{
    private readonly InterleavedTask _task = new();

    protected override SamplingOptions Sampling => new() { Temperature = 1.0, MaxNewTokens = 4, StopTokenIds = [0] };

    public void Dispose() => _task.Dispose();

    protected override IPolicy CreatePolicy() =>
        new TorchPolicy(new InterleavedCausalModule(InterleavedTask.HeadRows, 8, seed: 9, InterleavedTask.ImageToken), InterleavedTask.Tokenizer);

    protected override IReadOnlyList<PolicyPrompt> CreatePrompts() => _task.Prompts;
}
