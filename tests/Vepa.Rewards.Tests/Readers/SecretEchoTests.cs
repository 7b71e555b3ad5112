using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Vepa.Rewards.Tests.Http;

namespace Vepa.Rewards.Tests.Readers;

/// <summary>
/// A server that echoes the Authorization header in every reply (200, 400, 401, 500): the key must appear nowhere a user looks — failure
/// reasons, penalty reasons, exception messages, <c>ToString()</c> of results, failures and exceptions, logs at every level above Trace
/// (message, exception, structured state), and metric tags.
/// </summary>
public sealed class SecretEchoTests
{
    private const string ApiKey = "sk-vepa-ECHO-LEAKCHECK-5e7d21c9";

    public static TheoryData<string> Scenarios => ["200-tagged", "200-untagged", "200-truncated", "400", "400-context", "401", "500"];

    [Theory]
    [MemberData(nameof(Scenarios))]
    public async Task An_echoed_key_appears_in_no_reason_message_ToString_log_above_trace_or_metric_tag(string scenario)
    {
        await using var server = await LoopbackChatServer.StartAsync(request => Echo(scenario, request.Authorization ?? string.Empty));
        var logs = new FakeLogCollector();
        using var loggerFactory = LoggerFactory.Create(builder => builder.SetMinimumLevel(LogLevel.Trace).AddProvider(new FakeLoggerProvider(logs)));
        var tags = new List<string>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == RewardMetricNames.MeterName)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, _, measurementTags, _) => Collect(tags, measurementTags));
        listener.SetMeasurementEventCallback<double>((_, _, measurementTags, _) => Collect(tags, measurementTags));
        listener.Start();
        using IRewardModel model = new SufficiencyRewardModel(server.CreateChatClient(ApiKey).AsBlindReader())
            .AsBuilder()
            .UseLogging(loggerFactory)
            .UseMetrics(modelName: "echo")
            .UseResilience(o =>
            {
                o.Retry.MaxRetries = 1;
                o.Retry.BaseDelay = TimeSpan.Zero;
                o.Retry.MaxDelay = TimeSpan.Zero;
            })
            .UseLogging(loggerFactory)
            .UseMetrics()
            .Build();

        var texts = new List<string>();
        try
        {
            IReadOnlyList<RewardResult> results = await model.ScoreAsync([new RewardRequest("What colour is the car?", "blue", "A blue car by a wall.")]);
            foreach (RewardResult result in results)
            {
                texts.Add(result.ToString());
                texts.Add(result.Failure?.ToString() ?? string.Empty);
                texts.Add(result.Failure?.Reason ?? string.Empty);
                texts.Add(result.Failure?.Exception?.Message ?? string.Empty);
                texts.Add(result.Failure?.Exception?.ToString() ?? string.Empty);
                texts.Add(result.PenaltyCause?.ToString() ?? string.Empty);
                texts.Add(result.PenaltyCause?.Exception?.ToString() ?? string.Empty);
            }
        }
        catch (RewardConfigurationException ex)
        {
            scenario.Should().BeOneOf(["401", "400"], "only those are configuration failures of the whole batch here");
            texts.Add(ex.Message);
            texts.Add(ex.ToString());
            texts.Add(ex.Cause?.ToString() ?? string.Empty);
        }

        server.Requests.Should().NotBeEmpty().And.OnlyContain(r => r.Authorization == $"Bearer {ApiKey}", "the key really was sent and echoed");
        texts.Should().NotBeEmpty().And.AllSatisfy(text => text.Should().NotContain(ApiKey));
        logs.GetSnapshot().Where(r => r.Level > LogLevel.Trace).Should().NotBeEmpty().And.AllSatisfy(record =>
        {
            record.Message.Should().NotContain(ApiKey);
            (record.Exception?.ToString() ?? string.Empty).Should().NotContain(ApiKey);
            string.Join(";", record.StructuredState?.Select(p => p.Value) ?? []).Should().NotContain(ApiKey);
        });
        listener.RecordObservableInstruments();
        tags.Should().NotBeEmpty().And.AllSatisfy(tag => tag.Should().NotContain(ApiKey));
    }

    private static ScriptedReply Echo(string scenario, string authorization) => scenario switch
    {
        "200-tagged" => ScriptedReply.Answer($"[[honest]] {authorization}"),
        "200-untagged" => ScriptedReply.Answer($"You sent {authorization}; I cannot answer."),
        "200-truncated" => new ScriptedReply { Content = $"[[honest]] blue {authorization}", FinishReason = "length" },
        "400" => new ScriptedReply { StatusCode = 400, ErrorMessage = $"Bad request from {authorization}" },
        "400-context" => new ScriptedReply { StatusCode = 400, ErrorMessage = $"maximum context length exceeded for {authorization}" },
        "401" => new ScriptedReply { StatusCode = 401, ErrorMessage = $"Invalid API key: {authorization}" },
        _ => new ScriptedReply { StatusCode = 500, ErrorMessage = $"Internal error while serving {authorization}" },
    };

    private static void Collect(List<string> tags, ReadOnlySpan<KeyValuePair<string, object?>> measurementTags)
    {
        lock (tags)
        {
            foreach (KeyValuePair<string, object?> tag in measurementTags)
            {
                tags.Add($"{tag.Key}={tag.Value}");
            }
        }
    }
}
