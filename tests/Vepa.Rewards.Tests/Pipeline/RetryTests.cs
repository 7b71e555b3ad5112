using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.DependencyInjection;
using System.Diagnostics.Metrics;
using Vepa.Core.Tests.Rewards;
using Vepa.Core.Tests.Rewards.Fakes;

namespace Vepa.Rewards.Tests.Pipeline;

public sealed class RetryTests
{
    private static readonly RewardRequest[] Batch =
    [
        new("What colour is the ball?", "red", "A red ball on grass.") { Id = "a" },
        new("How many cubes?", "2", "Two cubes.") { Id = "b" },
        new("Is it on?", "yes", "The lamp glows.") { Id = "c" },
    ];

    private static readonly RewardRetryOptions NoDelay = new() { BaseDelay = TimeSpan.Zero, MaxDelay = TimeSpan.Zero, UseJitter = false };

    [Fact]
    public async Task Transient_failures_are_retried_until_they_succeed()
    {
        var inner = new FakeRewardModel((request, attempt) =>
            attempt < 2 ? RewardResult.Failed("HTTP 503 from the reader", isTransient: true) : FakeRewardModel.Deterministic(request));
        using IRewardModel model = inner.AsBuilder().UseRetry(NoDelay).Build();

        IReadOnlyList<RewardResult> results = await model.ScoreAsync(Batch);

        results.Select(r => r.Value).Should().Equal(Batch.Select(r => FakeRewardModel.Deterministic(r).Value));
        inner.Calls.Should().Be(3);
        Batch.Select(inner.AttemptsFor).Should().AllBeEquivalentTo(3);
    }

    [Fact]
    public async Task Only_the_failed_items_are_sent_again()
    {
        var inner = new FakeRewardModel((request, attempt) =>
            request.Id == "b" && attempt == 0 ? RewardResult.Failed("connection reset", isTransient: true) : FakeRewardModel.Deterministic(request));
        using IRewardModel model = inner.AsBuilder().UseRetry(NoDelay).Build();

        IReadOnlyList<RewardResult> results = await model.ScoreAsync(Batch);

        inner.Batches.Select(b => string.Join(",", b.Select(r => r.Id))).Should().Equal("a,b,c", "b");
        results.Select(r => r.Value).Should().Equal(Batch.Select(r => FakeRewardModel.Deterministic(r).Value));
    }

    [Fact]
    public async Task Permanent_failures_are_not_retried_and_keep_their_reason()
    {
        var inner = new FakeRewardModel((request, _) =>
            request.Id == "c" ? RewardResult.Failed("unparseable reader output", isTransient: false) : FakeRewardModel.Deterministic(request));
        using IRewardModel model = inner.AsBuilder().UseRetry(NoDelay).Build();

        IReadOnlyList<RewardResult> results = await model.ScoreAsync(Batch);

        inner.Calls.Should().Be(1);
        results[2].Status.Should().Be(RewardStatus.Failed);
        double.IsNaN(results[2].Value).Should().BeTrue();
        results[2].Failure.Should().Be(new RewardFailure("unparseable reader output", false));
    }

    [Fact]
    public async Task An_item_that_keeps_failing_reports_its_last_reason_and_the_number_of_attempts()
    {
        var cause = new TimeoutException();
        var inner = new FakeRewardModel((request, attempt) =>
            request.Id == "a" ? RewardResult.Failed($"busy (try {attempt + 1})", isTransient: true, cause) : FakeRewardModel.Deterministic(request));
        using IRewardModel model = inner.AsBuilder().UseRetry(new RewardRetryOptions { MaxRetries = 3, BaseDelay = TimeSpan.Zero, UseJitter = false }).Build();

        IReadOnlyList<RewardResult> results = await model.ScoreAsync(Batch);

        inner.AttemptsFor(Batch[0]).Should().Be(4);
        results[0].Status.Should().Be(RewardStatus.Failed);
        double.IsNaN(results[0].Value).Should().BeTrue("a failed call must never come back as 0");
        results[0].Failure.Should().Be(new RewardFailure("busy (try 4) (after 4 attempts)", true, cause));
        results[1].Value.Should().Be(FakeRewardModel.Deterministic(Batch[1]).Value);
    }

    [Fact]
    public async Task An_item_that_turns_permanent_on_a_retry_stops_and_reports_the_attempts()
    {
        var inner = new FakeRewardModel((request, attempt) => attempt == 0
            ? RewardResult.Failed("HTTP 429", isTransient: true)
            : RewardResult.Failed("HTTP 400: prompt too long", isTransient: false));
        using IRewardModel model = inner.AsBuilder().UseRetry(NoDelay).Build();

        IReadOnlyList<RewardResult> results = await model.ScoreAsync(Batch);

        inner.Calls.Should().Be(2);
        results.Select(r => r.Failure).Should().AllBeEquivalentTo(new RewardFailure("HTTP 400: prompt too long (after 2 attempts)", false));
    }

    [Fact]
    public async Task A_custom_predicate_chooses_what_is_retried()
    {
        var inner = new FakeRewardModel((request, attempt) =>
            attempt == 0 ? RewardResult.Failed("garbled reply", isTransient: false) : FakeRewardModel.Deterministic(request));
        var options = new RewardRetryOptions
        {
            BaseDelay = TimeSpan.Zero,
            ShouldRetry = r => r.Failure?.Reason.Contains("garbled", StringComparison.Ordinal) == true,
        };
        using IRewardModel model = inner.AsBuilder().UseRetry(options).Build();

        IReadOnlyList<RewardResult> results = await model.ScoreAsync(Batch);

        inner.Calls.Should().Be(2);
        results.Should().OnlyContain(r => r.IsScored);
    }

    [Fact]
    public async Task Backoff_doubles_from_the_base_delay_up_to_the_cap()
    {
        var clock = new RecordingTimeProvider();
        var inner = new FakeRewardModel((_, _) => RewardResult.Failed("busy", isTransient: true));
        using ServiceProvider services = PipelineServices.Create(clock);
        var options = new RewardRetryOptions { MaxRetries = 4, BaseDelay = TimeSpan.FromSeconds(1), MaxDelay = TimeSpan.FromSeconds(3), UseJitter = false };
        using IRewardModel model = inner.AsBuilder().UseRetry(options).Build(services);

        Task<IReadOnlyList<RewardResult>> scoring = model.ScoreAsync(Batch[..1]);
        var delays = new List<TimeSpan>();
        for (int retry = 1; retry <= 4; retry++)
        {
            TimeSpan due = await clock.NextTimerAsync();
            delays.Add(due);
            clock.Advance(due - TimeSpan.FromMilliseconds(1));
            await Task.Delay(10);
            inner.Calls.Should().Be(retry, "the retry must wait for its full delay");
            clock.Advance(TimeSpan.FromMilliseconds(1));
            await PipelineServices.WaitUntilAsync(() => inner.Calls == retry + 1, $"retry {retry} reached the inner model");
        }

        IReadOnlyList<RewardResult> results = await scoring.WaitAsync(TimeSpan.FromSeconds(10));

        delays.Should().Equal(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(3));
        results[0].Failure!.Reason.Should().Be("busy (after 5 attempts)");
        clock.HasPendingTimer.Should().BeFalse();
    }

    [Fact]
    public async Task Jitter_randomises_the_delays_within_the_cap()
    {
        var clock = new RecordingTimeProvider();
        var inner = new FakeRewardModel((_, _) => RewardResult.Failed("busy", isTransient: true));
        using ServiceProvider services = PipelineServices.Create(clock);
        var options = new RewardRetryOptions { MaxRetries = 5, BaseDelay = TimeSpan.FromSeconds(1), MaxDelay = TimeSpan.FromSeconds(20), UseJitter = true };
        using IRewardModel model = inner.AsBuilder().UseRetry(options).Build(services);

        Task<IReadOnlyList<RewardResult>> scoring = model.ScoreAsync(Batch[..1]);
        var delays = new List<TimeSpan>();
        for (int retry = 1; retry <= 5; retry++)
        {
            TimeSpan due = await clock.NextTimerAsync();
            delays.Add(due);
            clock.Advance(due);
            await PipelineServices.WaitUntilAsync(() => inner.Calls == retry + 1, $"retry {retry} reached the inner model");
        }

        await scoring.WaitAsync(TimeSpan.FromSeconds(10));

        delays.Should().OnlyContain(d => d > TimeSpan.Zero && d <= TimeSpan.FromSeconds(20));
        delays.Should().NotEqual(
            [TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(4), TimeSpan.FromSeconds(8), TimeSpan.FromSeconds(16)],
            "jitter must move the delays off the plain exponential curve");
    }

    [Fact]
    public async Task Cancellation_during_backoff_throws()
    {
        var clock = new RecordingTimeProvider();
        var inner = new FakeRewardModel((_, _) => RewardResult.Failed("busy", isTransient: true));
        using ServiceProvider services = PipelineServices.Create(clock);
        using IRewardModel model = inner.AsBuilder().UseRetry(new RewardRetryOptions { BaseDelay = TimeSpan.FromSeconds(5) }).Build(services);
        using var cts = new CancellationTokenSource();

        Task<IReadOnlyList<RewardResult>> scoring = model.ScoreAsync(Batch, cts.Token);
        await clock.NextTimerAsync();
        await cts.CancelAsync();

        await FluentActions.Awaiting(() => scoring.WaitAsync(TimeSpan.FromSeconds(10))).Should().ThrowAsync<OperationCanceledException>();
        inner.Calls.Should().Be(1);
    }

    [Fact]
    public async Task Exceptions_from_the_inner_model_are_not_retried()
    {
        var inner = new FakeRewardModel { OnCall = (_, _) => Task.FromException(new InvalidOperationException("bug")) };
        using IRewardModel model = inner.AsBuilder().UseRetry(NoDelay).Build();

        await FluentActions.Awaiting(() => model.ScoreAsync(Batch)).Should().ThrowAsync<InvalidOperationException>().WithMessage("bug");
        inner.Calls.Should().Be(1);
    }

    [Fact]
    public async Task Zero_retries_passes_failures_through_unchanged()
    {
        var inner = new FakeRewardModel((_, _) => RewardResult.Failed("busy", isTransient: true));
        using IRewardModel model = inner.AsBuilder().UseRetry(new RewardRetryOptions { MaxRetries = 0 }).Build();

        IReadOnlyList<RewardResult> results = await model.ScoreAsync(Batch);

        inner.Calls.Should().Be(1);
        results.Should().OnlyContain(r => r.Failure!.Reason == "busy");
    }

    [Fact]
    public async Task Each_item_sent_again_is_counted_as_a_retry()
    {
        var inner = new FakeRewardModel((request, attempt) =>
            request.Id != "c" && attempt < 2 ? RewardResult.Failed("busy", isTransient: true) : FakeRewardModel.Deterministic(request));
        using ServiceProvider services = PipelineServices.Create();
        var meterFactory = services.GetRequiredService<IMeterFactory>();
        using var retries = new MetricCollector<long>(meterFactory, RewardMetricNames.MeterName, RewardMetricNames.Retries);
        using IRewardModel model = inner.AsBuilder().UseRetry(NoDelay).Build(services);

        await model.ScoreAsync(Batch);

        retries.GetMeasurementSnapshot().Select(m => m.Value).Should().Equal(2, 2);
    }

    [Fact]
    public void Defaults_are_three_retries_from_one_second_doubling_to_thirty_with_jitter()
    {
        var options = new RewardRetryOptions();

        options.MaxRetries.Should().Be(3);
        options.BaseDelay.Should().Be(TimeSpan.FromSeconds(1));
        options.MaxDelay.Should().Be(TimeSpan.FromSeconds(30));
        options.UseJitter.Should().BeTrue();
        options.ShouldRetry.Should().BeNull();
    }

    [Fact]
    public void Invalid_options_are_rejected_with_every_problem_listed()
    {
        var options = new RewardRetryOptions { MaxRetries = 101, BaseDelay = TimeSpan.FromSeconds(5), MaxDelay = TimeSpan.FromSeconds(2) };

        Action act = () => new FakeRewardModel().AsBuilder().UseRetry(options);

        act.Should().Throw<ArgumentException>().Which.Message.Should().Be(
            "RewardRetryOptions is invalid: "
            + "DataAnnotation validation failed for 'RewardRetryOptions' members: 'MaxRetries' with the error: 'The field MaxRetries must be between 0 and 100.'.; "
            + "RewardRetryOptions.MaxDelay (00:00:02) must be at least RewardRetryOptions.BaseDelay (00:00:05). (Parameter 'options')");
    }

    [Fact]
    public async Task Options_are_copied_when_the_stage_is_added()
    {
        var options = new RewardRetryOptions { MaxRetries = 1, BaseDelay = TimeSpan.Zero };
        var inner = new FakeRewardModel((_, _) => RewardResult.Failed("busy", isTransient: true));
        RewardModelBuilder builder = inner.AsBuilder().UseRetry(options);
        options.MaxRetries = 50;
        using IRewardModel model = builder.Build();

        await model.ScoreAsync(Batch[..1]);

        inner.Calls.Should().Be(2);
    }
}

public sealed class RetryContractTests : RewardModelContractTests
{
    // Every request fails transiently the first time this model sees it; the retry stage turns that into the deterministic score.
    protected override IRewardModel CreateModel() =>
        new FakeRewardModel((request, attempt) => attempt == 0 ? RewardResult.Failed("busy", isTransient: true) : FakeRewardModel.Deterministic(request))
            .AsBuilder()
            .UseRetry(new RewardRetryOptions { BaseDelay = TimeSpan.Zero, UseJitter = false })
            .Build();
}
