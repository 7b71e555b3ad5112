using Microsoft.Extensions.DependencyInjection;
using Vepa.Core.Tests.Rewards;
using Vepa.Core.Tests.Rewards.Fakes;

namespace Vepa.Rewards.Tests.Pipeline;

public sealed class ResilienceTests
{
    private static RewardRequest[] Requests(int count, string prefix = "item") =>
        [.. Enumerable.Range(0, count).Select(i => new RewardRequest($"Question {i}?", "yes", $"{prefix} evidence {new string('e', i)}") { Id = $"{prefix}-{i}" })];

    [Fact]
    public async Task Caching_is_outside_retry_so_copies_are_scored_and_retried_once()
    {
        RewardRequest[] unique = Requests(2);
        RewardRequest[] batch = [.. Enumerable.Range(0, 8).Select(i => unique[i % 2] with { Id = $"copy-{i}" })];
        var inner = new FakeRewardModel((request, attempt) => attempt == 0 ? RewardResult.Failed("busy", isTransient: true) : FakeRewardModel.Deterministic(request));
        using IRewardModel model = inner.AsBuilder().UseResilience(o => o.Retry.BaseDelay = TimeSpan.Zero).Build();

        IReadOnlyList<RewardResult> results = await model.ScoreAsync(batch);

        inner.ItemsScored.Should().Be(4, "2 distinct requests, each scored twice (the failed attempt and the retry)");
        results.Select(r => r.Value).Should().Equal(batch.Select(r => FakeRewardModel.Deterministic(r).Value));
    }

    [Fact]
    public async Task Timed_out_calls_are_retried()
    {
        var clock = new RecordingTimeProvider();
        using ServiceProvider services = PipelineServices.Create(clock);
        RewardRequest[] batch = Requests(3);
        var attempts = new System.Collections.Concurrent.ConcurrentDictionary<string, int>();
        var inner = new FakeRewardModel
        {
            // The first attempt of each item hangs until the timeout cancels it; later attempts answer at once.
            OnCall = (b, ct) => attempts.AddOrUpdate(b[0].Id!, 0, (_, n) => n + 1) == 0 ? Task.Delay(Timeout.Infinite, ct) : Task.CompletedTask,
        };
        using IRewardModel model = inner.AsBuilder().UseResilience(o =>
        {
            o.Timeout = TimeSpan.FromSeconds(2);
            o.Retry.BaseDelay = TimeSpan.Zero;
        }).Build(services);

        Task<IReadOnlyList<RewardResult>> scoring = model.ScoreAsync(batch);
        for (int i = 0; i < 3; i++)
        {
            (await clock.NextTimerAsync()).Should().Be(TimeSpan.FromSeconds(2), "each call holding a slot starts its own timeout");
        }

        clock.Advance(TimeSpan.FromSeconds(2));
        IReadOnlyList<RewardResult> results = await scoring.WaitAsync(TimeSpan.FromSeconds(10));

        results.Select(r => r.Value).Should().Equal(batch.Select(r => FakeRewardModel.Deterministic(r).Value));
        inner.Calls.Should().Be(6);
    }

    [Fact]
    public async Task The_timeout_clock_starts_when_a_call_holds_its_slot()
    {
        var clock = new RecordingTimeProvider();
        using ServiceProvider services = PipelineServices.Create(clock);
        var inner = new FakeRewardModel { OnCall = (_, ct) => Task.Delay(TimeSpan.FromMilliseconds(600), clock, ct) };
        using IRewardModel model = inner.AsBuilder().UseResilience(o =>
        {
            o.Timeout = TimeSpan.FromSeconds(1);
            o.ConcurrencyLimit.MaxConcurrency = 1;
            o.Retry.MaxRetries = 0;
        }).Build(services);
        RewardRequest[] batch = Requests(3);

        Task<IReadOnlyList<RewardResult>> scoring = model.ScoreAsync(batch);
        for (int i = 0; i < 3; i++)
        {
            (await clock.NextTimerAsync()).Should().Be(TimeSpan.FromSeconds(1), "the call's timeout");
            (await clock.NextTimerAsync()).Should().Be(TimeSpan.FromMilliseconds(600), "the call's work");
            clock.Advance(TimeSpan.FromMilliseconds(600));
        }

        IReadOnlyList<RewardResult> results = await scoring.WaitAsync(TimeSpan.FromSeconds(10));

        (clock.GetUtcNow() - clock.Start).Should().Be(TimeSpan.FromMilliseconds(1800), "the batch took longer than one timeout in all");
        results.Should().OnlyContain(r => r.IsScored, "no call took longer than its own timeout");
    }

    [Fact]
    public async Task No_concurrency_slot_is_held_during_backoff()
    {
        var clock = new RecordingTimeProvider();
        using ServiceProvider services = PipelineServices.Create(clock);
        var inner = new FakeRewardModel((request, attempt) =>
            request.Id == "flaky" && attempt == 0 ? RewardResult.Failed("busy", isTransient: true) : FakeRewardModel.Deterministic(request));
        using IRewardModel model = inner.AsBuilder().UseResilience(o =>
        {
            o.ConcurrencyLimit.MaxConcurrency = 1;
            o.Retry.BaseDelay = TimeSpan.FromSeconds(10);
            o.Retry.UseJitter = false;
        }).Build(services);
        var flaky = new RewardRequest("Q?", "A", "flaky evidence") { Id = "flaky" };
        var other = new RewardRequest("Q?", "A", "other evidence") { Id = "other" };

        Task<IReadOnlyList<RewardResult>> first = model.ScoreAsync([flaky]);
        (await clock.NextTimerAsync()).Should().Be(TimeSpan.FromSeconds(30), "the first call's timeout");
        (await clock.NextTimerAsync()).Should().Be(TimeSpan.FromSeconds(10), "the backoff before the retry");
        IReadOnlyList<RewardResult> second = await model.ScoreAsync([other]).WaitAsync(TimeSpan.FromSeconds(10));
        bool firstDoneBeforeBackoffEnded = first.IsCompleted;
        clock.Advance(TimeSpan.FromSeconds(10));
        IReadOnlyList<RewardResult> firstResults = await first.WaitAsync(TimeSpan.FromSeconds(10));

        second[0].Value.Should().Be(FakeRewardModel.Deterministic(other).Value, "the only slot was free while the first batch waited");
        firstDoneBeforeBackoffEnded.Should().BeFalse();
        firstResults[0].Value.Should().Be(FakeRewardModel.Deterministic(flaky).Value);
    }

    [Fact]
    public async Task Options_registered_in_the_container_configure_the_pipeline()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var inner = new FakeRewardModel { OnCall = (_, ct) => gate.Task.WaitAsync(ct) };
        using ServiceProvider services = PipelineServices.Create(configure: s =>
        {
            s.AddRewardResilienceOptions(o => o.ConcurrencyLimit.MaxConcurrency = 2);
            s.AddRewardModel(inner).UseResilience();
        });
        var model = services.GetRequiredService<IRewardModel>();

        Task<IReadOnlyList<RewardResult>> scoring = model.ScoreAsync(Requests(10));
        await PipelineServices.WaitUntilAsync(() => inner.InFlight == 2, "2 calls are in flight");
        await Task.Delay(50);
        int inFlight = inner.InFlight;
        gate.SetResult();
        await scoring.WaitAsync(TimeSpan.FromSeconds(10));

        inFlight.Should().Be(2);
        inner.MaxInFlight.Should().Be(2);
    }

    [Fact]
    public async Task Without_registered_options_the_defaults_apply()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var inner = new FakeRewardModel { OnCall = (_, ct) => gate.Task.WaitAsync(ct) };
        using ServiceProvider services = PipelineServices.Create(configure: s => s.AddRewardModel(inner).UseResilience());
        var model = services.GetRequiredService<IRewardModel>();

        Task<IReadOnlyList<RewardResult>> scoring = model.ScoreAsync(Requests(40));
        await PipelineServices.WaitUntilAsync(() => inner.InFlight == 16, "16 calls are in flight");
        await Task.Delay(50);
        int inFlight = inner.InFlight;
        gate.SetResult();
        await scoring.WaitAsync(TimeSpan.FromSeconds(10));

        inFlight.Should().Be(16);
    }

    [Fact]
    public void Defaults()
    {
        var options = new RewardResilienceOptions();

        options.EnableCaching.Should().BeTrue();
        options.Caching.MaxCachedEntries.Should().Be(0);
        options.Retry.MaxRetries.Should().Be(3);
        options.Retry.BaseDelay.Should().Be(TimeSpan.FromSeconds(1));
        options.Retry.MaxDelay.Should().Be(TimeSpan.FromSeconds(30));
        options.Retry.UseJitter.Should().BeTrue();
        options.ConcurrencyLimit.MaxConcurrency.Should().Be(16);
        options.ConcurrencyLimit.MaxBatchSize.Should().Be(1);
        options.Timeout.Should().Be(TimeSpan.FromSeconds(30));
    }

    private static readonly string[] ExpectedFailures =
    [
        "DataAnnotation validation failed for 'RewardResilienceOptions' members: 'Timeout' with the error: 'The field Timeout must be between 00:00:00.0010000 and 1.00:00:00.'.",
        "DataAnnotation validation failed for 'RewardResilienceOptions.Retry' members: 'MaxRetries' with the error: 'The field MaxRetries must be between 0 and 100.'.",
        "DataAnnotation validation failed for 'RewardResilienceOptions.ConcurrencyLimit' members: 'MaxConcurrency' with the error: 'The field MaxConcurrency must be between 1 and 4096.'.",
        "RewardResilienceOptions.Retry.MaxDelay (00:00:01) must be at least RewardResilienceOptions.Retry.BaseDelay (00:00:05).",
    ];

    private static void MakeInvalid(RewardResilienceOptions o)
    {
        o.Timeout = TimeSpan.Zero;
        o.Retry.MaxRetries = -1;
        o.Retry.BaseDelay = TimeSpan.FromSeconds(5);
        o.Retry.MaxDelay = TimeSpan.FromSeconds(1);
        o.ConcurrencyLimit.MaxConcurrency = 0;
    }

    [Fact]
    public void Invalid_options_without_DI_throw_one_ArgumentException_listing_every_problem()
    {
        Action act = () => new FakeRewardModel().AsBuilder().UseResilience(MakeInvalid);

        act.Should().Throw<ArgumentException>().Which.Message.Should().Be(
            $"RewardResilienceOptions is invalid: {string.Join("; ", ExpectedFailures)} (Parameter 'options')");
    }

    [Fact]
    public void Invalid_options_through_DI_fail_at_start_with_the_same_problems()
    {
        using ServiceProvider services = PipelineServices.Create(configure: s =>
        {
            s.AddRewardResilienceOptions(MakeInvalid);
            s.AddRewardResilienceOptions();
        });

        Action act = () => services.GetRequiredService<Microsoft.Extensions.Options.IStartupValidator>().Validate();

        act.Should().Throw<Microsoft.Extensions.Options.OptionsValidationException>().Which.Failures.Should().Equal(ExpectedFailures);
    }

    [Fact]
    public void A_missing_nested_options_object_is_reported()
    {
        Action act = () => new FakeRewardModel().AsBuilder().UseResilience(o => o.Retry = null!);

        act.Should().Throw<ArgumentException>().Which.Message.Should().Be(
            "RewardResilienceOptions is invalid: DataAnnotation validation failed for 'RewardResilienceOptions' members: 'Retry' with the error: 'The Retry field is required.'. (Parameter 'options')");
    }

    [Fact]
    public void Null_arguments_are_rejected()
    {
        FluentActions.Invoking(() => ((RewardModelBuilder)null!).UseResilience()).Should().Throw<ArgumentNullException>().Which.ParamName.Should().Be("builder");
        FluentActions.Invoking(() => new FakeRewardModel().AsBuilder().UseResilience((Action<RewardResilienceOptions>)null!))
            .Should().Throw<ArgumentNullException>().Which.ParamName.Should().Be("configure");
        FluentActions.Invoking(() => ((IServiceCollection)null!).AddRewardResilienceOptions()).Should().Throw<ArgumentNullException>().Which.ParamName.Should().Be("services");
    }
}

public sealed class ResilienceContractTests : RewardModelContractTests
{
    // The full recommended pipeline around a reader that fails each request transiently the first time it sees it.
    protected override IRewardModel CreateModel() =>
        new FakeRewardModel((request, attempt) => attempt == 0 ? RewardResult.Failed("busy", isTransient: true) : FakeRewardModel.Deterministic(request))
        {
            OnCall = (_, ct) => Task.Delay(1, ct),
        }
        .AsBuilder()
        .UseLogging()
        .UseMetrics(modelName: "resilience-contract")
        .UseResilience(o =>
        {
            o.Retry.BaseDelay = TimeSpan.Zero;
            o.ConcurrencyLimit.MaxConcurrency = 4;
        })
        .Build();
}
