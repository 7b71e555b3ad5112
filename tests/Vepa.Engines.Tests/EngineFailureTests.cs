namespace Vepa.Engines.Tests;

/// <summary>Failures are loud: each fails the sampling call with an <see cref="EngineRequestException"/> that names the prompt, the endpoint and
/// the status, never quotes the server's text, and retries only what may pass.</summary>
public sealed class EngineFailureTests
{
    [Theory]
    [InlineData(Engine.Vllm)]
    [InlineData(Engine.Sglang)]
    public async Task A_5xx_is_retried_and_a_retry_that_succeeds_gives_the_batch(Engine kind)
    {
        await using var setup = await EngineSetup.StartAsync(kind);
        using var sampler = (IDisposable)setup.CreateSampler(o => o.MaxRetries = 1);
        setup.Server.Inject(EngineFault.ServerError);

        using var batch = await ((IRolloutSampler)sampler).SampleAsync([setup.Prompts()[0]], 2, setup.Sampling());

        batch.Count.Should().Be(2);
        setup.Server.Calls(kind == Engine.Vllm ? "/v1/completions" : "/generate").Should().Be(2);
    }

    [Theory]
    [InlineData(Engine.Vllm)]
    [InlineData(Engine.Sglang)]
    public async Task A_5xx_that_persists_fails_the_group_naming_prompt_endpoint_status_and_attempts(Engine kind)
    {
        await using var setup = await EngineSetup.StartAsync(kind);
        using var sampler = (IDisposable)setup.CreateSampler(o => { o.MaxRetries = 2; o.MaxConcurrency = 1; });
        setup.Server.Inject(EngineFault.ServerError, times: 3);
        var prompts = setup.Prompts();

        // Prompt 0 is sent first (one request at a time) and meets the three faults.
        var act = () => ((IRolloutSampler)sampler).SampleAsync(prompts, 2, setup.Sampling());

        var error = (await act.Should().ThrowAsync<EngineRequestException>()).Which;
        error.PromptIndex.Should().Be(0);
        error.StatusCode.Should().Be(500);
        error.Endpoint!.AbsolutePath.Should().Be(kind == Engine.Vllm ? "/v1/completions" : "/generate");
        error.Message.Should().Contain("Sampling for prompt 0 at " + error.Endpoint).And.Contain("failed after 3 attempts: HTTP 500");
        error.Message.Should().NotContain("injected", "the server's text is not quoted");
    }

    [Theory]
    [InlineData(Engine.Vllm)]
    [InlineData(Engine.Sglang)]
    public async Task A_4xx_is_not_retried_and_its_body_is_not_quoted(Engine kind)
    {
        await using var setup = await EngineSetup.StartAsync(kind);
        using var sampler = (IDisposable)setup.CreateSampler(o => o.MaxRetries = 3);
        setup.Server.Inject(EngineFault.BadRequest);

        var act = () => ((IRolloutSampler)sampler).SampleAsync([setup.Prompts()[0]], 2, setup.Sampling());

        var error = (await act.Should().ThrowAsync<EngineRequestException>()).Which;
        error.StatusCode.Should().Be(400);
        error.Message.Should().Contain("was refused with HTTP 400 (BadRequest)").And.NotContain("12345");
        setup.Server.Calls(kind == Engine.Vllm ? "/v1/completions" : "/generate").Should().Be(1);
    }

    [Fact]
    public async Task A_request_with_no_answer_times_out_and_fails()
    {
        await using var setup = await EngineSetup.StartAsync(Engine.Sglang);
        using var sampler = (IDisposable)setup.CreateSampler(o => { o.RequestTimeout = TimeSpan.FromMilliseconds(300); o.MaxRetries = 0; });
        setup.Server.Inject(EngineFault.Hang);

        var act = () => ((IRolloutSampler)sampler).SampleAsync([setup.Prompts()[0]], 2, setup.Sampling());

        var error = (await act.Should().ThrowAsync<EngineRequestException>()).Which;
        error.StatusCode.Should().BeNull();
        error.Message.Should().Contain("failed after 1 attempt: no answer within 00:00:00.3000000");
    }

    [Theory]
    [InlineData(Engine.Vllm, EngineFault.MissingChoice, "The body has 2 choices; n = G = 3 were asked for.")]
    [InlineData(Engine.Sglang, EngineFault.MissingChoice, "The body has 2 results for a batch of G = 3 inputs.")]
    [InlineData(Engine.Vllm, EngineFault.MalformedJson, "answered HTTP 200 with a body that is not valid JSON")]
    [InlineData(Engine.Sglang, EngineFault.MalformedJson, "answered HTTP 200 with a body that is not valid JSON")]
    [InlineData(Engine.Vllm, EngineFault.MissingLogProbs, ".logprobs.token_logprobs is missing: the engine did not return log-probs")]
    [InlineData(Engine.Sglang, EngineFault.MissingLogProbs, "[0].meta_info.output_token_logprobs is missing: the engine did not return log-probs")]
    [InlineData(Engine.Vllm, EngineFault.OutOfVocabulary, "holds token id 1000000 at position 0, outside the tokenizer's vocabulary [0, 782)")]
    [InlineData(Engine.Sglang, EngineFault.OutOfVocabulary, "holds token id 1000000 at position 0, outside the tokenizer's vocabulary [0, 782)")]
    [InlineData(Engine.Vllm, EngineFault.StopsOnForeignToken, "finished with reason \"stop\" at token 100, which is not in SamplingOptions.StopTokenIds")]
    [InlineData(Engine.Sglang, EngineFault.StopsOnForeignToken, "finished with reason \"stop\" at token 100, which is not in SamplingOptions.StopTokenIds")]
    [InlineData(Engine.Vllm, EngineFault.Abort, "].finish_reason is \"abort\": the engine aborted the completion")]
    [InlineData(Engine.Sglang, EngineFault.Abort, "[0].meta_info.finish_reason is \"abort\": the engine aborted the completion")]
    [InlineData(Engine.Vllm, EngineFault.FinishError, "].finish_reason is \"error\"; only \"stop\" and \"length\" are samples of the policy")]
    [InlineData(Engine.Sglang, EngineFault.FinishError, "[0].meta_info.finish_reason is \"error\"; only \"stop\" and \"length\" are samples of the policy")]
    [InlineData(Engine.Vllm, EngineFault.WrongJsonKind, "The body has no \"choices\" array (got an array)")]
    [InlineData(Engine.Sglang, EngineFault.WrongJsonKind, "[0] is number, not an object.")]
    public async Task An_answer_that_breaks_the_schema_fails_with_a_clear_error(Engine kind, EngineFault fault, string expected)
    {
        await using var setup = await EngineSetup.StartAsync(kind);
        using var sampler = (IDisposable)setup.CreateSampler();
        setup.Server.Inject(fault);

        var act = () => ((IRolloutSampler)sampler).SampleAsync([setup.Prompts()[1]], 3, setup.Sampling());

        var error = (await act.Should().ThrowAsync<EngineRequestException>()).Which;
        error.PromptIndex.Should().Be(0);
        error.Message.Should().Contain(expected);
    }

    [Fact]
    public async Task An_engine_that_goes_down_mid_run_fails_the_next_step_of_the_trainer()
    {
        await using var setup = await EngineSetup.StartAsync(Engine.Vllm);
        using var sampler = (VllmRolloutSampler)setup.CreateSampler(o => { o.MaxRetries = 1; o.RetryBaseDelay = TimeSpan.Zero; });
        using var reward = new LetterShareReward();
        // No weight sync due before the next step's sampling: the sampling request itself meets the stopped engine.
        var options = new Vepa.Grpo.GrpoTrainerOptions { GroupSize = 2, Sampling = setup.Sampling(seed: null), LearningRate = 1e-3, WarmupRatio = 0, MaxSteps = 5, WeightSyncEvery = 1000 };
        using var trainer = new Vepa.Grpo.GrpoTrainer(setup.Trainer, reward, options, sampler);
        var prompts = setup.Prompts();
        (await trainer.StepAsync(prompts)).RolloutCount.Should().Be(6);

        await setup.Server.StopAsync();
        var act = () => trainer.StepAsync(prompts);

        var error = (await act.Should().ThrowAsync<EngineRequestException>()).Which;
        error.StatusCode.Should().BeNull();
        error.Message.Should().Contain("failed after 2 attempts: the connection failed (ConnectionError)");
    }

    [Fact]
    public async Task An_engine_that_goes_down_mid_run_fails_the_weight_sync_before_the_next_step_samples()
    {
        await using var setup = await EngineSetup.StartAsync(Engine.Vllm);
        using var sampler = (VllmRolloutSampler)setup.CreateSampler(o => { o.MaxRetries = 1; o.RetryBaseDelay = TimeSpan.Zero; });
        using var reward = new LetterShareReward();
        var options = new Vepa.Grpo.GrpoTrainerOptions { GroupSize = 2, Sampling = setup.Sampling(seed: null), LearningRate = 1e-3, WarmupRatio = 0, MaxSteps = 5 };
        using var trainer = new Vepa.Grpo.GrpoTrainer(setup.Trainer, reward, options, sampler);
        var prompts = setup.Prompts();
        (await trainer.StepAsync(prompts)).RolloutCount.Should().Be(6);
        trainer.OptimizerUpdates.Should().Be(1);
        int samplingCalls = setup.Server.Calls("/v1/completions");

        await setup.Server.StopAsync();
        var act = () => trainer.StepAsync(prompts);

        var error = (await act.Should().ThrowAsync<Vepa.Grpo.GrpoWeightSyncException>()).Which;
        error.InnerException.Should().BeOfType<WeightSyncException>();
        error.InnerException!.InnerException.Should().BeOfType<EngineRequestException>()
            .Which.Message.Should().Contain("the connection failed (ConnectionError)");
        setup.Server.Calls("/v1/completions").Should().Be(samplingCalls, "the step stopped before sampling from stale weights");
    }

    [Fact]
    public async Task Bad_arguments_are_rejected_before_any_request()
    {
        await using var setup = await EngineSetup.StartAsync(Engine.Sglang);
        using var sampler = (SglangRolloutSampler)setup.CreateSampler();
        var prompt = setup.Prompts()[0];

        await sampler.Awaiting(s => s.SampleAsync([], 2, setup.Sampling())).Should().ThrowAsync<ArgumentException>().WithMessage("At least one prompt is needed; got 0.*");
        await sampler.Awaiting(s => s.SampleAsync([prompt], 0, setup.Sampling())).Should().ThrowAsync<ArgumentOutOfRangeException>();
        await sampler.Awaiting(s => s.SampleAsync([new PolicyPrompt("q", "a", [5, 900])], 2, setup.Sampling())).Should().ThrowAsync<ArgumentException>()
            .WithMessage("prompts[0] holds token id 900, outside the tokenizer's vocabulary [0, 782).*");
        setup.Server.Calls("/generate").Should().Be(0);
    }
    [Fact]
    public async Task A_group_cancelled_because_another_failed_never_stands_in_for_that_failure()
    {
        // Prompt 1's request is refused (HTTP 400), which cancels the other groups. Prompt 0's request is answered with a transient failure (503)
        // only after it was cancelled: the race of an engine going down, where a group's own failure arrives after the cancellation. The failure
        // reported is prompt 1's, and a cancelled group's transient failure never leaves as such (it had leaked as a private exception type).
        using var handler = new RacingHandler(slowPrompt: "[1,2,3]");
        using var http = new HttpClient(handler);
        using var sampler = new VllmRolloutSampler(new EngineSamplerOptions { BaseAddress = new Uri("http://engine.test/"), Model = "m", MaxRetries = 0 }, http);
        var sampling = new SamplingOptions { MaxNewTokens = 4 };

        var act = () => sampler.SampleAsync([new PolicyPrompt("q0", "a", [1, 2, 3]), new PolicyPrompt("q1", "a", [4, 5, 6])], 2, sampling);

        var error = (await act.Should().ThrowAsync<EngineRequestException>()).Which;
        error.PromptIndex.Should().Be(1);
        error.StatusCode.Should().Be(400);
        handler.SlowRequestCancelled.Should().BeTrue("prompt 0's request was cancelled when prompt 1 failed");
    }

    [Fact]
    public async Task A_host_HttpClient_that_times_out_by_itself_is_retried_and_then_fails_the_group_naming_the_endpoint()
    {
        // HttpClient's own Timeout cancels the request: a cancellation the caller did not ask for, so a timeout of the request,
        // never a bare OperationCanceledException that a host would read as its own shutdown.
        using var handler = new HangingHandler();
        using var http = new HttpClient(handler) { Timeout = TimeSpan.FromMilliseconds(150) };
        using var sampler = new VllmRolloutSampler(new EngineSamplerOptions { BaseAddress = new Uri("http://engine.test/"), Model = "m", MaxRetries = 1, RetryBaseDelay = TimeSpan.FromMilliseconds(1) }, http);

        var act = () => sampler.SampleAsync([new PolicyPrompt("q0", "a", [1, 2, 3])], 2, new SamplingOptions { MaxNewTokens = 4 });

        var error = (await act.Should().ThrowAsync<EngineRequestException>()).Which;
        error.PromptIndex.Should().Be(0);
        error.Message.Should().Contain("http://engine.test/v1/completions").And.Contain("failed after 2 attempts: no answer within the HttpClient's own Timeout");
        handler.Calls.Should().Be(2);
    }

    /// <summary>Never answers; counts the requests.</summary>
    private sealed class HangingHandler : HttpMessageHandler
    {
        private int _calls;

        public int Calls => _calls;

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _calls);
            await Task.Delay(Timeout.Infinite, cancellationToken);
            throw new InvalidOperationException("unreachable");
        }
    }

    /// <summary>Refuses every request with HTTP 400, except the one whose body holds <c>slowPrompt</c>: that one waits until it is cancelled, then answers 503.</summary>
    private sealed class RacingHandler(string slowPrompt) : HttpMessageHandler
    {
        public bool SlowRequestCancelled { get; private set; }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            string body = await request.Content!.ReadAsStringAsync(CancellationToken.None);
            if (!body.Contains(slowPrompt, StringComparison.Ordinal))
            {
                return new HttpResponseMessage(System.Net.HttpStatusCode.BadRequest) { Content = new StringContent("{\"error\": \"bad\"}") };
            }

            try
            {
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                SlowRequestCancelled = true;
            }

            return new HttpResponseMessage(System.Net.HttpStatusCode.ServiceUnavailable) { Content = new StringContent("{}") };
        }
    }
}
