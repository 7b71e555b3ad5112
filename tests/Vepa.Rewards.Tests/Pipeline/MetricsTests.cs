using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Time.Testing;
using Vepa.Core.Tests.Rewards;
using Vepa.Core.Tests.Rewards.Fakes;

namespace Vepa.Rewards.Tests.Pipeline;

public sealed class MetricsTests
{
    private static readonly RewardRequest[] Batch =
    [
        new("Q0?", "red", "A red ball.") { Id = "honest" },
        new("Q1?", "red", "Red.") { Id = "cheat" },
        new("Q2?", "red", "Blue ball.") { Id = "wrong" },
        new("Q3?", "red", "x") { Id = "transient" },
        new("Q4?", "red", "y") { Id = "permanent" },
    ];

    private static RewardResult Score(RewardRequest request) => request.Id switch
    {
        "honest" => RewardResult.Scored(1, new Dictionary<string, double> { ["s"] = 1, ["h"] = 1, ["gamma"] = 1 }),
        "cheat" => RewardResult.Scored(0, new Dictionary<string, double> { ["s"] = 1, ["h"] = 0, ["gamma"] = 1 }),
        "wrong" => RewardResult.Scored(0, new Dictionary<string, double> { ["s"] = 0, ["h"] = 1, ["gamma"] = 1 }),
        "transient" => RewardResult.Failed("HTTP 503", isTransient: true),
        _ => RewardResult.Failed("garbage", isTransient: false),
    };

    [Fact]
    public async Task Items_failures_and_cheats_are_counted_with_their_tags()
    {
        using ServiceProvider services = PipelineServices.Create(new FakeTimeProvider());
        var meters = services.GetRequiredService<IMeterFactory>();
        using var items = new MetricCollector<long>(meters, RewardMetricNames.MeterName, RewardMetricNames.Items);
        using var failures = new MetricCollector<long>(meters, RewardMetricNames.MeterName, RewardMetricNames.Failures);
        using var cheats = new MetricCollector<long>(meters, RewardMetricNames.MeterName, RewardMetricNames.Cheats);
        using IRewardModel model = new FakeRewardModel((r, _) => Score(r)).AsBuilder().UseMetrics().Build(services);

        await model.ScoreAsync(Batch);

        items.GetMeasurementSnapshot().Select(m => (m.Value, m.Tags[RewardMetricNames.StatusTag])).Should().BeEquivalentTo(
            new[] { (3L, (object?)"scored"), (2L, (object?)"failed") });
        failures.GetMeasurementSnapshot().Select(m => (m.Value, m.Tags[RewardMetricNames.TransientTag])).Should().BeEquivalentTo(
            new[] { (1L, (object?)true), (1L, (object?)false) });
        cheats.GetMeasurementSnapshot().Should().ContainSingle().Which.Value.Should().Be(1);
    }

    [Fact]
    public async Task Each_inner_call_records_its_duration_in_seconds()
    {
        var clock = new FakeTimeProvider();
        using ServiceProvider services = PipelineServices.Create(clock);
        using var durations = new MetricCollector<double>(services.GetRequiredService<IMeterFactory>(), RewardMetricNames.MeterName, RewardMetricNames.CallDuration);
        var inner = new FakeRewardModel { OnCall = (batch, _) => { clock.Advance(TimeSpan.FromMilliseconds(250 * batch.Count)); return Task.CompletedTask; } };
        using IRewardModel model = inner.AsBuilder().UseMetrics().UseConcurrencyLimit(1).Build(services);
        using IRewardModel perCall = inner.AsBuilder().UseConcurrencyLimit(1).UseMetrics().Build(services);

        await model.ScoreAsync(Batch[..3]);
        await perCall.ScoreAsync(Batch[..2]);

        durations.GetMeasurementSnapshot().Select(m => m.Value).Should().Equal(0.75, 0.25, 0.25);
        durations.GetMeasurementSnapshot().Should().OnlyContain(m => !m.Tags.ContainsKey(RewardMetricNames.ErrorTypeTag));
    }

    [Fact]
    public async Task A_throwing_call_records_its_duration_with_the_error_type()
    {
        var clock = new FakeTimeProvider();
        using ServiceProvider services = PipelineServices.Create(clock);
        using var durations = new MetricCollector<double>(services.GetRequiredService<IMeterFactory>(), RewardMetricNames.MeterName, RewardMetricNames.CallDuration);
        using var items = new MetricCollector<long>(services.GetRequiredService<IMeterFactory>(), RewardMetricNames.MeterName, RewardMetricNames.Items);
        var inner = new FakeRewardModel
        {
            OnCall = (_, _) => { clock.Advance(TimeSpan.FromSeconds(2)); return Task.FromException(new TimeoutException("slow")); },
        };
        using IRewardModel model = inner.AsBuilder().UseMetrics().Build(services);

        await FluentActions.Awaiting(() => model.ScoreAsync(Batch)).Should().ThrowAsync<TimeoutException>();

        var measurement = durations.GetMeasurementSnapshot().Should().ContainSingle().Subject;
        measurement.Value.Should().Be(2);
        measurement.Tags[RewardMetricNames.ErrorTypeTag].Should().Be("System.TimeoutException");
        items.GetMeasurementSnapshot().Should().BeEmpty();
    }

    [Fact]
    public async Task A_model_name_tags_every_measurement_and_the_static_meter_is_used_without_a_factory()
    {
        string name = $"static-meter-test-{Guid.NewGuid():N}";
        using var items = new MetricCollector<long>(meterScope: null, RewardMetricNames.MeterName, RewardMetricNames.Items);
        using var durations = new MetricCollector<double>(meterScope: null, RewardMetricNames.MeterName, RewardMetricNames.CallDuration);
        using IRewardModel model = new FakeRewardModel((r, _) => Score(r)).AsBuilder().UseMetrics(modelName: name).Build();

        await model.ScoreAsync(Batch);

        var mine = items.GetMeasurementSnapshot().Where(m => Equals(m.Tags.GetValueOrDefault(RewardMetricNames.ModelTag), name)).ToList();
        mine.Sum(m => m.Value).Should().Be(5);
        durations.GetMeasurementSnapshot().Count(m => Equals(m.Tags.GetValueOrDefault(RewardMetricNames.ModelTag), name)).Should().Be(1);
    }

    [Fact]
    public async Task An_explicit_meter_factory_wins_over_the_container()
    {
        using ServiceProvider container = PipelineServices.Create();
        using ServiceProvider other = PipelineServices.Create();
        var explicitFactory = other.GetRequiredService<IMeterFactory>();
        using var viaExplicit = new MetricCollector<long>(explicitFactory, RewardMetricNames.MeterName, RewardMetricNames.Items);
        using var viaContainer = new MetricCollector<long>(container.GetRequiredService<IMeterFactory>(), RewardMetricNames.MeterName, RewardMetricNames.Items);
        using IRewardModel model = new FakeRewardModel().AsBuilder().UseMetrics(explicitFactory).Build(container);

        await model.ScoreAsync(Batch);

        viaExplicit.GetMeasurementSnapshot().Sum(m => m.Value).Should().Be(5);
        viaContainer.GetMeasurementSnapshot().Should().BeEmpty();
    }

    [Fact]
    public void Metric_names_are_stable()
    {
        RewardMetricNames.MeterName.Should().Be("Vepa.Rewards");
        new[] { RewardMetricNames.Items, RewardMetricNames.Failures, RewardMetricNames.Retries, RewardMetricNames.Cheats, RewardMetricNames.CallDuration }
            .Should().Equal("vepa.rewards.items", "vepa.rewards.failures", "vepa.rewards.retries", "vepa.rewards.cheats", "vepa.rewards.call.duration");
    }
}

public sealed class MetricsContractTests : RewardModelContractTests
{
    protected override IRewardModel CreateModel() =>
        new FakeRewardModel().AsBuilder().UseMetrics(modelName: "contract").Build();
}
