using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Vepa.Rewards.Tests.Http;

namespace Vepa.Rewards.Tests.Readers;

/// <summary>The API key lives only in the client the user built: no failure message, no log line may contain it.</summary>
public sealed class ChatClientBlindReaderCredentialTests
{
    private const string ApiKey = "sk-vepa-LEAKCHECK-7f3a9c2e5b1d40aa";

    private static readonly BlindReaderQuery Query = new("What colour is the car?", "A blue car by a wall.", ["red", "blue"]);

    public static TheoryData<string> Scenarios => ["401", "500", "malformed", "timeout", "drop", "ok"];

    [Theory]
    [MemberData(nameof(Scenarios))]
    public async Task The_key_appears_in_no_failure_message_and_no_log_line(string scenario)
    {
        ScriptedReply reply = scenario switch
        {
            // Real servers mask the key in their errors; this one does the same.
            "401" => new ScriptedReply { StatusCode = 401, ErrorMessage = "Incorrect API key provided: sk-vepa-****40aa." },
            "500" => ScriptedReply.Status(500),
            "malformed" => ScriptedReply.Answer("I cannot tell."),
            "timeout" => ScriptedReply.Answer("[[honest]] B", TimeSpan.FromSeconds(10)),
            "drop" => ScriptedReply.Drop(),
            _ => ScriptedReply.Answer("[[honest]] B"),
        };
        await using var server = await LoopbackChatServer.StartAsync(reply);
        var logs = new FakeLogCollector();
        using var loggerFactory = LoggerFactory.Create(builder => builder.SetMinimumLevel(LogLevel.Trace).AddProvider(new FakeLoggerProvider(logs)));
        IChatClient chatClient = server.CreateChatClient(ApiKey, networkTimeout: TimeSpan.FromSeconds(1))
            .AsBuilder()
            .UseLogging(loggerFactory)
            .Build();
        IBlindReader reader = chatClient.AsBlindReader();

        Exception? failure = null;
        try
        {
            await reader.ReadAsync(Query);
        }
        catch (BlindReaderException ex)
        {
            failure = ex;
        }

        server.Requests.Should().ContainSingle().Which.Authorization.Should().Be($"Bearer {ApiKey}", "the key really was used");
        (failure is null).Should().Be(scenario == "ok");
        if (failure is not null)
        {
            failure.Message.Should().NotContain(ApiKey);
            failure.ToString().Should().NotContain(ApiKey, "no message in the whole exception chain may carry it");
        }

        IReadOnlyList<FakeLogRecord> records = logs.GetSnapshot();
        records.Should().NotBeEmpty("the logging chat client logs every call at trace level");
        records.Should().AllSatisfy(record =>
        {
            record.Message.Should().NotContain(ApiKey);
            (record.Exception?.ToString() ?? string.Empty).Should().NotContain(ApiKey);
            string.Join(";", record.StructuredState?.Select(p => p.Value) ?? []).Should().NotContain(ApiKey);
        });
    }

    [Fact]
    public async Task A_server_that_echoes_the_key_in_its_error_does_not_put_it_in_the_reason()
    {
        await using var server = await LoopbackChatServer.StartAsync(new ScriptedReply { StatusCode = 401, ErrorMessage = $"Invalid API key {ApiKey}" });
        IBlindReader reader = server.CreateChatClient(ApiKey).AsBlindReader();

        Func<Task> read = () => reader.ReadAsync(Query);

        BlindReaderException failure = (await read.Should().ThrowAsync<BlindReaderException>()).Which;
        failure.Message.Should().Be("The chat endpoint answered HTTP 401 (Unauthorized). Check the API key and the endpoint the chat client was built with.");
        failure.InnerException!.Message.Should().Contain(ApiKey, "the client's own exception quotes the response body; that is why reasons are never built from it");
    }
}
