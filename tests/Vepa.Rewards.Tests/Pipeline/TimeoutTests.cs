using Vepa.Core.Tests.Rewards;
using Vepa.Core.Tests.Rewards.Fakes;

namespace Vepa.Rewards.Tests.Pipeline;

public sealed class TimeoutTests
{
    private static readonly RewardRequest[] Batch =
    [
        new("What colour is the ball?", "red", "A red ball.") { Id = "a" },
        new("How many cubes?", "2", "Two cubes.") { Id = "b" },
    ];

    [Fact]
    public async Task A_call_slower_than_the_timeout_gives_each_item_a_transient_failure()
    {
        var clock = new RecordingTimeProvider();
        var inner = new FakeRewardModel { OnCall = (_, ct) => Task.Delay(Timeout.Infinite, ct) };
        using ServiceProviderScope scope = new(clock);
        using IRewardModel model = inner.AsBuilder().UseTimeout(TimeSpan.FromSeconds(2)).Build(scope.Provider);

        Task<IReadOnlyList<RewardResult>> scoring = model.ScoreAsync(Batch);
        (await clock.NextTimerAsync()).Should().Be(TimeSpan.FromSeconds(2));
        clock.Advance(TimeSpan.FromMilliseconds(1999));
        await Task.Delay(20);
        bool doneBeforeTimeout = scoring.IsCompleted;
        clock.Advance(TimeSpan.FromMilliseconds(1));
        IReadOnlyList<RewardResult> results = await scoring.WaitAsync(TimeSpan.FromSeconds(10));

        doneBeforeTimeout.Should().BeFalse();
        results.Should().HaveCount(2).And.OnlyContain(r => r.Status == RewardStatus.Failed && double.IsNaN(r.Value));
        results.Select(r => r.Failure!).Should().OnlyContain(f => f.IsTransient && f.Reason == "The reward model call timed out after 2 s.");
        await PipelineServices.WaitUntilAsync(() => inner.InFlight == 0, "the inner call (an endless delay) saw the cancellation and ended");
    }

    [Fact]
    public async Task An_inner_model_that_ignores_cancellation_still_times_out()
    {
        var clock = new RecordingTimeProvider();
        var never = new TaskCompletionSource();
        var inner = new FakeRewardModel { OnCall = (_, _) => never.Task };
        using ServiceProviderScope scope = new(clock);
        using IRewardModel model = inner.AsBuilder().UseTimeout(TimeSpan.FromMilliseconds(250)).Build(scope.Provider);

        Task<IReadOnlyList<RewardResult>> scoring = model.ScoreAsync(Batch);
        await clock.NextTimerAsync();
        clock.Advance(TimeSpan.FromMilliseconds(250));
        IReadOnlyList<RewardResult> results = await scoring.WaitAsync(TimeSpan.FromSeconds(10));

        results.Select(r => r.Failure!.Reason).Should().AllBe("The reward model call timed out after 250 ms.");
        never.SetResult();
    }

    [Fact]
    public async Task A_call_within_the_timeout_returns_the_inner_results()
    {
        var clock = new RecordingTimeProvider();
        var inner = new FakeRewardModel();
        using ServiceProviderScope scope = new(clock);
        using IRewardModel model = inner.AsBuilder().UseTimeout(TimeSpan.FromSeconds(1)).Build(scope.Provider);

        IReadOnlyList<RewardResult> results = await model.ScoreAsync(Batch);

        results.Select(r => r.Value).Should().Equal(Batch.Select(r => FakeRewardModel.Deterministic(r).Value));
    }

    [Fact]
    public async Task Caller_cancellation_is_not_reported_as_a_timeout()
    {
        var clock = new RecordingTimeProvider();
        var inner = new FakeRewardModel { OnCall = (_, ct) => Task.Delay(Timeout.Infinite, ct) };
        using ServiceProviderScope scope = new(clock);
        using IRewardModel model = inner.AsBuilder().UseTimeout(TimeSpan.FromSeconds(5)).Build(scope.Provider);
        using var cts = new CancellationTokenSource();

        Task<IReadOnlyList<RewardResult>> scoring = model.ScoreAsync(Batch, cts.Token);
        await clock.NextTimerAsync();
        await cts.CancelAsync();

        await FluentActions.Awaiting(() => scoring.WaitAsync(TimeSpan.FromSeconds(10))).Should().ThrowAsync<OperationCanceledException>();
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-5)]
    [InlineData(86_400_001)]
    public void Out_of_range_timeouts_are_rejected_with_the_value(double milliseconds)
    {
        var timeout = TimeSpan.FromMilliseconds(milliseconds);

        Action act = () => new FakeRewardModel().AsBuilder().UseTimeout(timeout);

        act.Should().Throw<ArgumentOutOfRangeException>()
            .WithMessage($"The timeout must be in [00:00:00.0010000, 1.00:00:00]; got {timeout:c}. (Parameter 'timeout')*");
    }

    /// <summary>A service provider holding one clock, disposed with the test.</summary>
    private sealed class ServiceProviderScope(TimeProvider clock) : IDisposable
    {
        public Microsoft.Extensions.DependencyInjection.ServiceProvider Provider { get; } = PipelineServices.Create(clock);

        public void Dispose() => Provider.Dispose();
    }
}

public sealed class TimeoutContractTests : RewardModelContractTests
{
    protected override IRewardModel CreateModel() =>
        new FakeRewardModel { OnCall = (_, ct) => Task.Delay(1, ct) }.AsBuilder().UseTimeout(TimeSpan.FromSeconds(20)).Build();
}

public sealed class TimedOutContractTests : RewardModelContractTests
{
    // Every call times out: the contract still holds (one failed, NaN result per request, in order).
    protected override IRewardModel CreateModel() =>
        new FakeRewardModel { OnCall = (_, ct) => Task.Delay(Timeout.Infinite, ct) }.AsBuilder().UseTimeout(TimeSpan.FromMilliseconds(1)).Build();
}
