using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Vepa.Core.Tests.Rewards;
using Vepa.Core.Tests.Rewards.Fakes;

namespace Vepa.Rewards.Tests.Pipeline;

public sealed class LoggingTests
{
    private const string EvidenceMarker = "EVIDENCE-7f3a";
    private const string QuestionMarker = "QUESTION-91bd";
    private const string GoldMarker = "GOLD-55c2";

    private static readonly RewardRequest[] Batch =
    [
        new($"What colour? {QuestionMarker}", GoldMarker, $"A red ball. {EvidenceMarker}") { Id = "a" },
        new("How many?", "2", $"Two cubes. {EvidenceMarker}") { Id = "b" },
        new("Is it on?", "yes", $"The lamp glows. {EvidenceMarker}") { Id = "c" },
        new("Which?", "B", $"Cylinder. {EvidenceMarker}", ["cube", "cylinder"]) { Id = "d" },
    ];

    private static FakeRewardModel MixedModel() => new((request, _) => request.Id switch
    {
        "b" or "c" => RewardResult.Failed("HTTP 503 from the reader", isTransient: true),
        "d" => RewardResult.Failed("unparseable reader output", isTransient: false),
        _ => FakeRewardModel.Deterministic(request),
    });

    [Fact]
    public async Task Batch_start_and_finish_are_logged_at_Debug_and_failures_at_Warning_grouped_by_reason()
    {
        var provider = new FakeLoggerProvider();
        using ServiceProvider services = PipelineServices.Create(new Microsoft.Extensions.Time.Testing.FakeTimeProvider(), provider);
        using IRewardModel model = MixedModel().AsBuilder().UseLogging().Build(services);

        await model.ScoreAsync(Batch);

        var records = provider.Collector.GetSnapshot().Where(r => r.Level > LogLevel.Trace).ToList();
        records.Select(r => (r.Level, r.Message)).Should().Equal(
            (LogLevel.Debug, "Scoring 4 reward requests."),
            (LogLevel.Debug, "Scored 4 reward requests in 0 ms: 1 scored, 3 failed."),
            (LogLevel.Warning, "2 of 4 reward requests failed (transient; first at index 1): HTTP 503 from the reader"),
            (LogLevel.Warning, "1 of 4 reward requests failed (permanent; first at index 3): unparseable reader output"));
        records.Should().OnlyContain(r => r.Category == "Vepa.Rewards.LoggingRewardModel");
    }

    [Fact]
    public async Task Evidence_questions_and_answers_appear_at_Trace_only()
    {
        var provider = new FakeLoggerProvider();
        using ServiceProvider services = PipelineServices.Create(new Microsoft.Extensions.Time.Testing.FakeTimeProvider(), provider);
        using IRewardModel model = MixedModel().AsBuilder().UseLogging().Build(services);

        await model.ScoreAsync(Batch);

        var records = provider.Collector.GetSnapshot();
        string[] markers = [EvidenceMarker, QuestionMarker, GoldMarker];
        records.Where(r => r.Level > LogLevel.Trace).Should().OnlyContain(r => !markers.Any(m => r.Message.Contains(m, StringComparison.Ordinal)));
        string trace = string.Join("\n", records.Where(r => r.Level == LogLevel.Trace).Select(r => r.Message));
        trace.Should().Contain($"Reward request 0 (id a): question \"What colour? {QuestionMarker}\", gold \"{GoldMarker}\", choices none, evidence \"A red ball. {EvidenceMarker}\".");
        trace.Should().Contain($"Reward request 3 (id d): question \"Which?\", gold \"B\", choices [cube | cylinder], evidence \"Cylinder. {EvidenceMarker}\".");
        trace.Should().Contain("Reward result 3: Failed NaN [] [].");
    }

    [Fact]
    public async Task A_throwing_inner_model_is_logged_by_exception_type_without_its_message_above_Trace()
    {
        var provider = new FakeLoggerProvider();
        using ServiceProvider services = PipelineServices.Create(new Microsoft.Extensions.Time.Testing.FakeTimeProvider(), provider);
        var inner = new FakeRewardModel { OnCall = (_, _) => Task.FromException(new InvalidOperationException("401 for key sk-SECRET")) };
        using IRewardModel model = inner.AsBuilder().UseLogging().Build(services);

        await FluentActions.Awaiting(() => model.ScoreAsync(Batch)).Should().ThrowAsync<InvalidOperationException>();

        var records = provider.Collector.GetSnapshot();
        records.Where(r => r.Level > LogLevel.Trace).Should().OnlyContain(r => !r.Message.Contains("sk-SECRET", StringComparison.Ordinal) && r.Exception == null);
        records.Should().Contain(r => r.Level == LogLevel.Error && r.Message.StartsWith("Scoring 4 reward requests threw System.InvalidOperationException after ", StringComparison.Ordinal));
        records.Should().Contain(r => r.Level == LogLevel.Trace && r.Exception is InvalidOperationException);
    }

    [Fact]
    public async Task Caller_cancellation_is_logged_at_Debug()
    {
        var provider = new FakeLoggerProvider();
        using ServiceProvider services = PipelineServices.Create(new Microsoft.Extensions.Time.Testing.FakeTimeProvider(), provider);
        using var cts = new CancellationTokenSource();
        var inner = new FakeRewardModel { OnCall = (_, ct) => Task.Delay(Timeout.Infinite, ct) };
        using IRewardModel model = inner.AsBuilder().UseLogging().Build(services);

        Task<IReadOnlyList<RewardResult>> scoring = model.ScoreAsync(Batch, cts.Token);
        await cts.CancelAsync();

        await FluentActions.Awaiting(() => scoring).Should().ThrowAsync<OperationCanceledException>();
        provider.Collector.GetSnapshot().Should().Contain(r => r.Level == LogLevel.Debug && r.Message.StartsWith("Scoring 4 reward requests was cancelled after ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_explicit_logger_factory_wins_over_the_container()
    {
        var explicitProvider = new FakeLoggerProvider();
        using var factory = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Debug).AddProvider(explicitProvider));
        using IRewardModel model = new FakeRewardModel().AsBuilder().UseLogging(factory).Build();

        await model.ScoreAsync(Batch);

        var messages = explicitProvider.Collector.GetSnapshot().Select(r => r.Message).ToList();
        messages.Should().HaveCount(2);
        messages[0].Should().Be("Scoring 4 reward requests.");
        messages[1].Should().Match("Scored 4 reward requests in * ms: 4 scored, 0 failed.");
    }

    [Fact]
    public void Without_a_logger_factory_the_stage_is_left_out()
    {
        var inner = new FakeRewardModel();

        inner.AsBuilder().UseLogging().Build().Should().BeSameAs(inner);
    }
}

public sealed class LoggingContractTests : RewardModelContractTests
{
    protected override IRewardModel CreateModel()
    {
        var factory = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Trace).AddProvider(new FakeLoggerProvider()));
        return new FakeRewardModel((request, _) => request.Id == "open-yes" ? RewardResult.Failed("busy", true) : FakeRewardModel.Deterministic(request))
            .AsBuilder().UseLogging(factory).Build();
    }
}
