using Microsoft.Extensions.Time.Testing;
using Vepa.Rewards.Tests.Http;
using Vepa.Rewards.Tests.Pipeline;

namespace Vepa.Rewards.Tests.Readers;

/// <summary>
/// Issue 14, class 6: evidence-caused failures are recognised from the response bodies of the servers people use, sent byte for byte by the
/// loopback server and read through the real OpenAI client. The body formats are the servers' own (sources in docs/rewards.md); the
/// misconfiguration and outage bodies beside them must keep their kinds.
/// </summary>
public sealed class ServerErrorBodyTests
{
    private const string Question = "What colour is the car?";

    /// <summary>Server, HTTP status, body, expected kind.</summary>
    public static TheoryData<string, int, string, RewardFailureKind> Bodies => new()
    {
        // OpenAI: context length, the prompt screen of reasoning models, a context error whose message names no cause (the code does).
        { "OpenAI context", 400, """{"error":{"message":"This model's maximum context length is 4097 tokens. However, your messages resulted in 6988 tokens. Please reduce the length of the messages.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}""", RewardFailureKind.Evidence },
        { "OpenAI context, code only", 400, """{"error":{"message":"Please shorten what you send.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}""", RewardFailureKind.Evidence },
        { "OpenAI prompt screen", 400, """{"error":{"message":"Invalid prompt: your prompt was flagged as potentially violating our usage policy. Please try again with a different prompt: https://platform.openai.com/docs/guides/reasoning#advice-on-prompting","type":"invalid_request_error","param":null,"code":"invalid_prompt"}}""", RewardFailureKind.Evidence },
        { "OpenAI string too long", 400, """{"error":{"message":"Invalid 'messages[1].content': string too long.","type":"invalid_request_error","param":"messages[1].content","code":"string_above_max_length"}}""", RewardFailureKind.Evidence },

        // Azure OpenAI: the content filter (with prompt shields) and the context length.
        { "Azure content filter", 400, """{"error":{"message":"The response was filtered due to the prompt triggering Azure OpenAI's content management policy. Please modify your prompt and retry. To learn more about our content filtering policies please read our documentation: https://go.microsoft.com/fwlink/?linkid=2198766","type":null,"param":"prompt","code":"content_filter","status":400,"innererror":{"code":"ResponsibleAIPolicyViolation","content_filter_result":{"hate":{"filtered":false,"severity":"safe"},"jailbreak":{"filtered":true,"detected":true},"self_harm":{"filtered":false,"severity":"safe"},"sexual":{"filtered":false,"severity":"safe"},"violence":{"filtered":false,"severity":"safe"}}}}}""", RewardFailureKind.Evidence },
        { "Azure content filter, code only", 400, """{"error":{"message":"Request blocked.","type":null,"param":"prompt","code":"content_filter","status":400,"innererror":{"code":"ResponsibleAIPolicyViolation"}}}""", RewardFailureKind.Evidence },
        { "Azure context", 400, """{"error":{"message":"This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens. Please reduce the length of the messages.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded","status":400}}""", RewardFailureKind.Evidence },

        // vLLM: the older top-level shape, the current nested one, the decoder-prompt message, a negative max_tokens from an over-long prompt.
        { "vLLM old", 400, """{"object":"error","message":"This model's maximum context length is 4096 tokens. However, you requested 4472 tokens (376 in the messages, 4096 in the completion). Please reduce the length of the messages or completion.","type":"BadRequestError","param":null,"code":400}""", RewardFailureKind.Evidence },
        { "vLLM current", 400, """{"error":{"message":"This model's maximum context length is 2048 tokens. However, your request has 8 input tokens plus 2045 'max_tokens'. Please reduce one or the other. (parameter=input_tokens, max_tokens, value=(8, 2045))","type":"BadRequestError","param":"input_tokens, max_tokens","code":400}}""", RewardFailureKind.Evidence },
        { "vLLM decoder prompt", 400, """{"error":{"message":"The decoder prompt (length 9000) is longer than the maximum model length of 4096. Make sure that `max_model_len` is no smaller than the number of text tokens.","type":"BadRequestError","param":null,"code":400}}""", RewardFailureKind.Evidence },
        { "vLLM negative max_tokens", 400, """{"object":"error","message":"max_tokens must be at least 1, got -186.","type":"BadRequestError","param":null,"code":400}""", RewardFailureKind.Evidence },

        // SGLang (vLLM's older shape, its own message).
        { "SGLang", 400, """{"object":"error","message":"The input (61709 tokens) is longer than the model's context length (40960 tokens).","type":"BadRequestError","param":null,"code":400}""", RewardFailureKind.Evidence },

        // TGI: both validation messages.
        { "TGI total", 422, """{"error":"Input validation error: `inputs` tokens + `max_new_tokens` must be <= 2048. Given: 1244 `inputs` tokens and 1000 `max_new_tokens`","error_type":"validation"}""", RewardFailureKind.Evidence },
        { "TGI inputs", 422, """{"error":"Input validation error: `inputs` must have less than 1024 tokens. Given: 1168","error_type":"validation"}""", RewardFailureKind.Evidence },

        // llama.cpp server: the typed error, with HTTP 400 and with the HTTP 500 of the versions that sent it so.
        { "llama.cpp", 400, """{"error":{"code":400,"message":"the request exceeds the available context size. try increasing the context size or enable context shift","type":"exceed_context_size_error","n_prompt_tokens":14429,"n_ctx":8192}}""", RewardFailureKind.Evidence },
        { "llama.cpp HTTP 500", 500, """{"error":{"code":500,"message":"the request exceeds the available context size. try increasing the context size or enable context shift","type":"exceed_context_size_error","n_prompt_tokens":1407,"n_ctx":256}}""", RewardFailureKind.Evidence },
        { "llama.cpp older", 400, """{"error":{"code":400,"message":"the request exceeds the available context size, try increasing it","type":"invalid_request_error"}}""", RewardFailureKind.Evidence },

        // Ollama: its native error object and its OpenAI-compatible one.
        { "Ollama", 400, """{"error":"the input length exceeds the context length"}""", RewardFailureKind.Evidence },
        { "Ollama OpenAI-compatible", 400, """{"error":{"message":"the input length exceeds the context length","type":"invalid_request_error","param":null,"code":null}}""", RewardFailureKind.Evidence },

        // Not the evidence: misconfiguration and outages keep their kinds.
        { "OpenAI unknown model", 404, """{"error":{"message":"The model `gpt-readr` does not exist or you do not have access to it.","type":"invalid_request_error","param":null,"code":"model_not_found"}}""", RewardFailureKind.Configuration },
        { "OpenAI unsupported parameter", 400, """{"error":{"message":"Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.","type":"invalid_request_error","param":"max_tokens","code":"unsupported_parameter"}}""", RewardFailureKind.Configuration },
        { "OpenAI bad key", 401, """{"error":{"message":"Incorrect API key provided.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}""", RewardFailureKind.Configuration },
        { "vLLM unknown model", 404, """{"object":"error","message":"The model `readr` does not exist.","type":"NotFoundError","param":null,"code":404}""", RewardFailureKind.Configuration },
        { "TGI max_new_tokens too high", 422, """{"error":"Input validation error: `max_new_tokens` must be <= 192. Given: 500","error_type":"validation"}""", RewardFailureKind.Configuration },
        { "llama.cpp crash", 500, """{"error":{"code":500,"message":"failed to decode the batch","type":"server_error"}}""", RewardFailureKind.Infrastructure },
        { "OpenAI rate limit", 429, """{"error":{"message":"Rate limit reached for requests","type":"requests","param":null,"code":"rate_limit_exceeded"}}""", RewardFailureKind.Infrastructure },
    };

    [Theory]
    [MemberData(nameof(Bodies))]
    public async Task Each_servers_error_body_is_classified_by_what_caused_it(string server, int status, string body, RewardFailureKind kind)
    {
        await using var loopback = await LoopbackChatServer.StartAsync(ScriptedReply.Error(status, body));
        using var model = new SufficiencyRewardModel(loopback.CreateChatClient().AsBlindReader(), new SufficiencyRewardOptions { Formula = SufficiencyRewardFormula.Signed });

        RewardResult result = (await model.ScoreAsync([new RewardRequest(Question, "blue", "A blue car by a wall.")])).Single();

        if (kind == RewardFailureKind.Evidence)
        {
            result.IsScored.Should().BeTrue("{0}: an evidence-caused failure is penalised, never NaN", server);
            result.IsPenalized.Should().BeTrue();
            result.Value.Should().Be(-1.0);
            result.PenaltyCause!.Kind.Should().Be(RewardFailureKind.Evidence);
            result.PenaltyCause.Reason.Should().NotContain("Please", "the body is searched, never quoted");
        }
        else
        {
            result.Status.Should().Be(RewardStatus.Failed, server);
            double.IsNaN(result.Value).Should().BeTrue();
            result.Failure!.Kind.Should().Be(kind, server);
        }
    }

    [Fact]
    public async Task One_rejected_evidence_in_a_batch_is_penalised_and_does_not_open_the_configuration_circuit()
    {
        const string Filtered = """{"error":{"message":"The response was filtered due to the prompt triggering Azure OpenAI's content management policy.","type":null,"param":"prompt","code":"content_filter","status":400,"innererror":{"code":"ResponsibleAIPolicyViolation"}}}""";
        const string TooLong = """{"object":"error","message":"The input (61709 tokens) is longer than the model's context length (40960 tokens).","type":"BadRequestError","param":null,"code":400}""";
        await using var server = await LoopbackChatServer.StartAsync(request =>
            request.UserText.Contains("filtered", StringComparison.Ordinal) ? ScriptedReply.Error(400, Filtered)
            : request.UserText.Contains("endless", StringComparison.Ordinal) ? ScriptedReply.Error(400, TooLong)
            : ScriptedReply.Answer("[[honest]] blue"));
        using var services = PipelineServices.Create(new FakeTimeProvider());
        using IRewardModel model = new SufficiencyRewardModel(server.CreateChatClient().AsBlindReader())
            .AsBuilder()
            .UseResilience(o => o.Retry.MaxRetries = 0)
            .Build(services);
        RewardRequest[] batch =
        [
            new(Question, "blue", "The filtered car is blue."),
            new(Question, "blue", "An endless description of a blue car."),
            new(Question, "blue", "A blue car."),
            new(Question, "blue", "A blue car by a wall."),
        ];

        // Twice: a circuit opened by the first batch would make the second throw.
        for (int round = 0; round < 2; round++)
        {
            IReadOnlyList<RewardResult> results = await model.ScoreAsync(batch);

            results.Select(r => r.Value).Should().Equal(0.0, 0.0, 1.0, 1.0);
            results.Take(2).Should().OnlyContain(r => r.IsPenalized && r.PenaltyCause!.Kind == RewardFailureKind.Evidence);
        }
    }
}
