using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Vepa.Rewards.Tests.Http;

namespace Vepa.Rewards.Tests.Readers;

/// <summary>
/// The whole reward path against a real OpenAI-compatible server on 127.0.0.1: pipeline stages → <see cref="SufficiencyRewardModel"/>
/// → the chat-client reader → the OpenAI client (its own retries off) → HTTP.
/// </summary>
public sealed class ChatClientBlindReaderPipelineTests
{
    private const string ApiKey = "sk-vepa-PIPELINE-LEAKCHECK-93be17";

    private static readonly RewardRetryOptions FastRetry = new() { MaxRetries = 2, BaseDelay = TimeSpan.FromMilliseconds(5), MaxDelay = TimeSpan.FromMilliseconds(20), UseJitter = false };

    [Fact]
    public async Task A_reply_slower_than_UseTimeout_gives_a_transient_timeout_failure()
    {
        await using var server = await LoopbackChatServer.StartAsync(ScriptedReply.Answer("[[honest]] blue", TimeSpan.FromSeconds(10)));
        using IRewardModel model = Sufficiency(server).AsBuilder().UseTimeout(TimeSpan.FromMilliseconds(300)).Build();

        IReadOnlyList<RewardResult> results = await model.ScoreAsync([Request("blue", "A blue car.")]);

        RewardResult result = results.Should().ContainSingle().Subject;
        result.Status.Should().Be(RewardStatus.Failed);
        double.IsNaN(result.Value).Should().BeTrue();
        result.Failure!.IsTransient.Should().BeTrue();
        result.Failure.Reason.Should().Be("The reward model call timed out after 300 ms.");
    }

    [Fact]
    public async Task A_reply_slower_than_the_client_network_timeout_gives_a_transient_timeout_failure()
    {
        await using var server = await LoopbackChatServer.StartAsync(ScriptedReply.Answer("[[honest]] blue", TimeSpan.FromSeconds(10)));
        using IRewardModel model = Sufficiency(server, networkTimeout: TimeSpan.FromMilliseconds(300));

        IReadOnlyList<RewardResult> results = await model.ScoreAsync([Request("blue", "A blue car.")]);

        RewardResult result = results.Should().ContainSingle().Subject;
        result.Status.Should().Be(RewardStatus.Failed);
        result.Failure!.IsTransient.Should().BeTrue();
        result.Failure.Reason.Should().MatchRegex(@"^The blind reader failed: The chat call timed out after \d+(\.\d+)? s without a reply");
    }

    [Fact]
    public async Task Server_errors_then_success_are_scored_after_retries()
    {
        var attempts = new ConcurrentDictionary<string, int>();
        await using var server = await LoopbackChatServer.StartAsync(request =>
        {
            int attempt = attempts.AddOrUpdate(request.UserText, 1, (_, n) => n + 1);
            return request.UserText.Contains("flaky", StringComparison.Ordinal) && attempt <= 2
                ? ScriptedReply.Status(attempt == 1 ? 500 : 503)
                : ScriptedReply.Answer("[[honest]] blue");
        });
        using IRewardModel model = Sufficiency(server).AsBuilder().UseRetry(FastRetry).Build();

        IReadOnlyList<RewardResult> results = await model.ScoreAsync([Request("blue", "A flaky blue car."), Request("blue", "A steady blue car.")]);

        results.Select(r => r.Value).Should().Equal(1.0, 1.0);
        results[0].Components["s"].Should().Be(1);
        results[0].Annotations["reader_answer"].Should().Be("blue");
        attempts.Should().BeEquivalentTo(new Dictionary<string, int>
        {
            [server.Requests.First(r => r.UserText.Contains("flaky", StringComparison.Ordinal)).UserText] = 3,
            [server.Requests.First(r => r.UserText.Contains("steady", StringComparison.Ordinal)).UserText] = 1,
        });
        server.RequestCount.Should().Be(4);
    }

    [Fact]
    public async Task A_server_that_always_fails_gives_a_failure_after_every_attempt_with_the_reason_kept()
    {
        await using var server = await LoopbackChatServer.StartAsync(ScriptedReply.Status(500));
        using IRewardModel model = Sufficiency(server).AsBuilder().UseRetry(FastRetry).Build();

        IReadOnlyList<RewardResult> results = await model.ScoreAsync([Request("blue", "A blue car.")]);

        RewardResult result = results.Single();
        result.Status.Should().Be(RewardStatus.Failed);
        double.IsNaN(result.Value).Should().BeTrue();
        result.Failure!.IsTransient.Should().BeTrue();
        result.Failure.Reason.Should().Be("The blind reader failed: The chat endpoint answered HTTP 500 (InternalServerError). (after 3 attempts)");
        server.RequestCount.Should().Be(3, "one attempt and MaxRetries = 2 retries");
    }

    [Fact]
    public async Task Unauthorized_fails_at_once_without_a_retry()
    {
        await using var server = await LoopbackChatServer.StartAsync(ScriptedReply.Status(401));
        using IRewardModel model = Sufficiency(server).AsBuilder().UseRetry(FastRetry).Build();

        IReadOnlyList<RewardResult> results = await model.ScoreAsync([Request("blue", "A blue car.")]);

        RewardResult result = results.Single();
        result.Status.Should().Be(RewardStatus.Failed);
        result.Failure!.IsTransient.Should().BeFalse();
        result.Failure.Reason.Should().Be("The blind reader failed: The chat endpoint answered HTTP 401 (Unauthorized). Check the API key and the endpoint the chat client was built with.");
        server.RequestCount.Should().Be(1);
    }

    [Fact]
    public async Task A_malformed_reply_is_the_evidences_failure_scored_as_the_penalty_and_not_retried()
    {
        await using var server = await LoopbackChatServer.StartAsync(ScriptedReply.Answer("I think it is blue."));
        using IRewardModel model = Sufficiency(server).AsBuilder().UseRetry(FastRetry).Build();

        IReadOnlyList<RewardResult> results = await model.ScoreAsync([Request("blue", "A blue car.")]);

        RewardResult result = results.Single();
        result.Status.Should().Be(RewardStatus.Scored, "NaN would give advantage 0: evidence that makes the reply unreadable would escape a low score");
        result.Value.Should().Be(0.0, "the multiplicative formula's minimum");
        result.PenaltyCause!.Kind.Should().Be(RewardFailureKind.Evidence);
        result.PenaltyCause.Reason.Should().Be("The blind reader failed: The reader's reply is malformed: the reply has no [[CHEAT]] or [[honest]] tag.");
        server.RequestCount.Should().Be(1);
    }

    [Fact]
    public async Task The_server_never_sees_more_requests_in_flight_than_the_concurrency_limit_and_reaches_it()
    {
        const int Rollouts = 64;
        const int Limit = 8;
        await using var server = await LoopbackChatServer.StartAsync(ScriptedReply.Answer("[[honest]] blue", TimeSpan.FromMilliseconds(50)));
        using IRewardModel model = Sufficiency(server).AsBuilder().UseConcurrencyLimit(Limit).Build();
        RewardRequest[] batch = [.. Enumerable.Range(0, Rollouts).Select(i => Request("blue", $"Car {i} is painted blue."))];

        IReadOnlyList<RewardResult> results = await model.ScoreAsync(batch);

        results.Should().HaveCount(Rollouts).And.OnlyContain(r => r.IsScored && r.Value == 1.0);
        server.RequestCount.Should().Be(Rollouts);
        server.MaxInFlight.Should().Be(Limit);
    }

    [Fact]
    public async Task A_mixed_batch_through_UseResilience_gets_one_result_per_item()
    {
        var attempts = new ConcurrentDictionary<string, int>();
        await using var server = await LoopbackChatServer.StartAsync(request =>
        {
            int attempt = attempts.AddOrUpdate(request.UserText, 1, (_, n) => n + 1);
            string text = request.UserText;
            return text switch
            {
                _ when text.Contains("throttled", StringComparison.Ordinal) && attempt == 1 => ScriptedReply.Status(429, TimeSpan.FromMilliseconds(10)),
                _ when text.Contains("forbidden", StringComparison.Ordinal) => ScriptedReply.Status(403),
                _ when text.Contains("states", StringComparison.Ordinal) => ScriptedReply.Answer("**[[CHEAT]]** Blue"),
                _ when text.Contains("red", StringComparison.Ordinal) => ScriptedReply.Answer("[[honest]] red", TimeSpan.FromMilliseconds(20)),
                _ => ScriptedReply.Answer("[[ Honest ]] Answer: blue", TimeSpan.FromMilliseconds(20)),
            };
        });
        using IRewardModel model = Sufficiency(server).AsBuilder().UseResilience(o =>
        {
            o.Retry = FastRetry;
            o.ConcurrencyLimit.MaxConcurrency = 4;
            o.Timeout = TimeSpan.FromSeconds(20);
        }).Build();

        IReadOnlyList<RewardResult> results = await model.ScoreAsync(
        [
            Request("blue", "A blue car by a wall."),
            Request("blue", "A red car by a wall."),
            Request("blue", "A throttled blue car."),
            Request("blue", "A forbidden blue car."),
            Request("blue", "The evidence states: Blue."),
            Request("blue", "A blue car by a wall."),
        ]);

        results.Select(r => r.Status).Should().Equal(
            RewardStatus.Scored, RewardStatus.Scored, RewardStatus.Scored, RewardStatus.Failed, RewardStatus.Scored, RewardStatus.Scored);
        results.Where(r => r.IsScored).Select(r => r.Value).Should().Equal(1.0, 0.0, 1.0, 0.0, 1.0);
        results[4].Components["s"].Should().Be(1, "the cheating evidence lets the reader answer");
        results[4].Components["h"].Should().Be(0, "but it is judged cheating");
        results[3].Failure!.IsTransient.Should().BeFalse();
        attempts.Values.Sum().Should().Be(6, "the duplicate is read once (caching), the 429 once more, the 403 never again");
    }

    [Fact]
    public async Task The_key_appears_in_no_reason_and_no_log_line_of_the_pipeline()
    {
        await using var server = await LoopbackChatServer.StartAsync(request => request.UserText switch
        {
            var t when t.Contains("unauthorized", StringComparison.Ordinal) => new ScriptedReply { StatusCode = 401, ErrorMessage = "Incorrect API key provided: sk-vepa-****7f3a." },
            var t when t.Contains("broken", StringComparison.Ordinal) => ScriptedReply.Status(500),
            var t when t.Contains("slow", StringComparison.Ordinal) => ScriptedReply.Answer("[[honest]] blue", TimeSpan.FromSeconds(10)),
            var t when t.Contains("garbled", StringComparison.Ordinal) => ScriptedReply.Answer("no idea"),
            var t when t.Contains("dropped", StringComparison.Ordinal) => ScriptedReply.Drop(),
            _ => ScriptedReply.Answer("[[honest]] blue"),
        });
        var logs = new FakeLogCollector();
        using var loggerFactory = LoggerFactory.Create(builder => builder.SetMinimumLevel(LogLevel.Trace).AddProvider(new FakeLoggerProvider(logs)));
        using IRewardModel model = Sufficiency(server)
            .AsBuilder()
            .UseLogging(loggerFactory)
            .UseRetry(FastRetry)
            .UseConcurrencyLimit(8)
            .UseLogging(loggerFactory)
            .UseTimeout(TimeSpan.FromMilliseconds(500))
            .Build();

        IReadOnlyList<RewardResult> results = await model.ScoreAsync(
            [.. new[] { "unauthorized", "broken", "slow", "garbled", "dropped", "fine" }.Select(kind => Request("blue", $"A {kind} blue car."))]);

        results.Count(r => r.Status == RewardStatus.Failed).Should().Be(4);
        results.Count(r => r.IsPenalized).Should().Be(1, "the garbled reply is the evidence's failure");
        server.Requests.Should().OnlyContain(r => r.Authorization == $"Bearer {ApiKey}", "the key really was used");
        results.Where(r => r.Failure is not null).Should().AllSatisfy(r =>
        {
            r.Failure!.Reason.Should().NotContain(ApiKey);
            (r.Failure.Exception?.ToString() ?? string.Empty).Should().NotContain(ApiKey);
        });
        logs.GetSnapshot().Should().NotBeEmpty().And.AllSatisfy(record =>
        {
            record.Message.Should().NotContain(ApiKey);
            (record.Exception?.ToString() ?? string.Empty).Should().NotContain(ApiKey);
        });
    }

    private static SufficiencyRewardModel Sufficiency(LoopbackChatServer server, TimeSpan? networkTimeout = null)
        => new(server.CreateChatClient(ApiKey, networkTimeout).AsBlindReader());

    private static RewardRequest Request(string gold, string evidence) => new("What colour is the car?", gold, evidence);
}
