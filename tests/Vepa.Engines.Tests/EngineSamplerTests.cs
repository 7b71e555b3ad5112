using System.Text.Json.Nodes;
using static TorchSharp.torch;

namespace Vepa.Engines.Tests;

/// <summary>The engine samplers against a loopback engine that samples from the same weights as the trainer: the schema round trip, the
/// sampler log-probs against the trainer's own recompute, the request fields, seeding and the metadata.</summary>
public sealed class EngineSamplerTests
{
    [Theory]
    [InlineData(Engine.Vllm)]
    [InlineData(Engine.Sglang)]
    public async Task A_round_trip_returns_the_engines_tokens_with_log_probs_equal_to_the_trainers_recompute(Engine kind)
    {
        await using var setup = await EngineSetup.StartAsync(kind);
        using var sampler = (IDisposable)setup.CreateSampler();
        var prompts = setup.Prompts();
        var sampling = setup.Sampling();
        using var batch = await ((IRolloutSampler)sampler).SampleAsync(prompts, 4, sampling);

        batch.Count.Should().Be(12);
        batch.GroupSize.Should().Be(4);
        batch.SamplerLogProbs.Should().NotBeNull();
        var stops = sampling.StopTokenIds.ToHashSet();
        var lengths = batch.CompletionLengths;
        for (int r = 0; r < batch.Count; r++)
        {
            long[] row = batch.CompletionIds[r].data<long>().ToArray();
            int end = Array.FindIndex(row, 0, lengths[r], stops.Contains);
            batch.Truncated[r].Should().Be(end < 0, "row {0} is truncated exactly when it has no stop token", r);
            (end < 0 ? lengths[r] == sampling.MaxNewTokens : end == lengths[r] - 1).Should().BeTrue("row {0} ends at its stop token or at MaxNewTokens", r);
            batch.Texts[r].Should().Be(setup.Trainer.Tokenizer.Decode(row.AsSpan(0, end < 0 ? lengths[r] : end)));
            row.Skip(lengths[r]).Should().AllBeEquivalentTo(sampling.PadTokenId);
        }

        // The engine's log-probs (KV-cached sampling in the server) against the trainer's one-pass recompute of the same tokens.
        using var scope = NewDisposeScope();
        var trainer = setup.Trainer.ComputeLogProbs(batch, new PolicyLogProbOptions { Temperature = sampling.Temperature }).LogProbs;
        float gap = (trainer - batch.SamplerLogProbs!).masked_fill(batch.CompletionMask.logical_not(), 0).abs().max().item<float>();
        gap.Should().BeLessThan(1e-4f);
        batch.SamplerLogProbs!.masked_select(batch.CompletionMask).lt(0).all().item<bool>().Should().BeTrue("every sampled token has probability < 1 at temperature 1");
    }

    [Fact]
    public async Task The_vllm_request_carries_the_token_ids_n_logprobs_zero_and_return_token_ids()
    {
        await using var setup = await EngineSetup.StartAsync(Engine.Vllm);
        using var sampler = (VllmRolloutSampler)setup.CreateSampler();
        var prompt = setup.Prompts()[0];
        var sampling = setup.Sampling(seed: 100);
        sampling.TopK = 50;
        using var batch = await sampler.SampleAsync([prompt], 3, sampling);

        var body = setup.Server.LastBody!;
        body["model"]!.GetValue<string>().Should().Be("tiny-qwen");
        body["prompt"]!.AsArray().Select(n => n!.GetValue<long>()).Should().Equal(prompt.PromptTokenIds);
        body["n"]!.GetValue<int>().Should().Be(3);
        body["logprobs"]!.GetValue<int>().Should().Be(0);
        body["return_token_ids"]!.GetValue<bool>().Should().BeTrue();
        body["ignore_eos"]!.GetValue<bool>().Should().BeTrue();
        body["max_tokens"]!.GetValue<int>().Should().Be(sampling.MaxNewTokens);
        body["temperature"]!.GetValue<double>().Should().Be(1.0);
        body["top_k"]!.GetValue<int>().Should().Be(50);
        body["seed"]!.GetValue<long>().Should().Be(100);
        body["stop_token_ids"]!.AsArray().Select(n => n!.GetValue<long>()).Should().Equal(sampling.StopTokenIds);
        NeutralProcessors(body);
    }

    /// <summary>Processors the trainer's log-probs do not know are sent neutral, so the engine does not fill them from generation_config.json.</summary>
    private static void NeutralProcessors(JsonNode parameters)
    {
        parameters["repetition_penalty"]!.GetValue<double>().Should().Be(1.0);
        parameters["min_p"]!.GetValue<double>().Should().Be(0.0);
        parameters["frequency_penalty"]!.GetValue<double>().Should().Be(0.0);
        parameters["presence_penalty"]!.GetValue<double>().Should().Be(0.0);
    }

    [Fact]
    public async Task The_sglang_request_repeats_the_prompt_G_times_with_one_seed_each_and_asks_for_log_probs()
    {
        await using var setup = await EngineSetup.StartAsync(Engine.Sglang);
        using var sampler = (SglangRolloutSampler)setup.CreateSampler();
        var prompts = setup.Prompts();
        using var batch = await sampler.SampleAsync([prompts[1]], 3, setup.Sampling(seed: 100));

        var body = setup.Server.LastBody!;
        body["input_ids"]!.AsArray().Should().HaveCount(3);
        body["input_ids"]![2]!.AsArray().Select(n => n!.GetValue<long>()).Should().Equal(prompts[1].PromptTokenIds);
        body["return_logprob"]!.GetValue<bool>().Should().BeTrue();
        var parameters = body["sampling_params"]!.AsArray();
        parameters.Select(p => p!["sampling_seed"]!.GetValue<long>()).Should().Equal(100, 101, 102);
        parameters[0]!["top_k"]!.GetValue<int>().Should().Be(-1, "no top-k is sent as SGLang's 'off'");
        parameters[0]!["ignore_eos"]!.GetValue<bool>().Should().BeFalse("SGLang checks stop_token_ids only when ignore_eos is false");
        parameters[0]!["stop_token_ids"]!.AsArray().Select(n => n!.GetValue<long>()).Should().Equal(setup.Sampling().StopTokenIds);
        NeutralProcessors(parameters[0]!);
    }

    [Theory]
    [InlineData(Engine.Vllm)]
    [InlineData(Engine.Sglang)]
    public async Task The_same_seed_gives_the_same_completions_and_another_seed_others(Engine kind)
    {
        await using var setup = await EngineSetup.StartAsync(kind);
        using var sampler = (IDisposable)setup.CreateSampler();
        var s = (IRolloutSampler)sampler;
        var prompts = setup.Prompts();
        using var first = await s.SampleAsync(prompts, 4, setup.Sampling(seed: 7));
        using var again = await s.SampleAsync(prompts, 4, setup.Sampling(seed: 7));
        using var other = await s.SampleAsync(prompts, 4, setup.Sampling(seed: 8));

        Same(first.CompletionIds, again.CompletionIds).Should().BeTrue();
        Same(first.SamplerLogProbs!, again.SamplerLogProbs!).Should().BeTrue();
        Same(first.CompletionIds, other.CompletionIds).Should().BeFalse();
    }

    [Fact]
    public async Task Metadata_says_the_engine_samplers_sample_remotely_and_the_in_process_sampler_does_not()
    {
        await using var setup = await EngineSetup.StartAsync(Engine.Sglang);
        using var sampler = (SglangRolloutSampler)setup.CreateSampler();
        var metadata = (RolloutSamplerMetadata)sampler.GetService(typeof(RolloutSamplerMetadata))!;
        metadata.SamplesRemotely.Should().BeTrue();
        metadata.ProviderName.Should().Be("sglang");
        metadata.Endpoint.Should().Be(setup.Server.BaseAddress);
        metadata.ModelId.Should().Be("tiny-qwen");
        sampler.GetService(typeof(IWeightSynchronizer)).Should().BeAssignableTo<IWeightSynchronizer>();
        sampler.GetService(typeof(RolloutSamplerMetadata), "key").Should().BeNull();

        var local = (RolloutSamplerMetadata)setup.Trainer.Sampler.GetService(typeof(RolloutSamplerMetadata))!;
        local.SamplesRemotely.Should().BeFalse();
        local.Endpoint.Should().BeNull();

        using var vllm = new VllmRolloutSampler(new EngineSamplerOptions { BaseAddress = new Uri("http://127.0.0.1:1/") });
        ((RolloutSamplerMetadata)vllm.GetService(typeof(RolloutSamplerMetadata))!).ProviderName.Should().Be("vllm");
        vllm.GetService(typeof(IWeightSynchronizer)).Should().BeNull("no weight sync was configured");
    }

    private static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();
}
