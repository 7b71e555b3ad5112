using Vepa.Core.Tests.Rewards;
using Vepa.Core.Tests.Rewards.Fakes;

namespace Vepa.Rewards.Tests.Pipeline;

public sealed class ConcurrencyLimitTests
{
    private static RewardRequest[] Requests(int count) =>
        [.. Enumerable.Range(0, count).Select(i => new RewardRequest($"Question {i}?", "yes", new string('e', i + 1)) { Id = $"item-{i}" })];

    [Fact]
    public async Task Calls_in_flight_never_exceed_the_limit_and_reach_it_under_load()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var inner = new FakeRewardModel { OnCall = (_, ct) => gate.Task.WaitAsync(ct) };
        using IRewardModel model = inner.AsBuilder().UseConcurrencyLimit(8).Build();
        RewardRequest[] requests = Requests(64);

        Task<IReadOnlyList<RewardResult>> scoring = model.ScoreAsync(requests);
        await PipelineServices.WaitUntilAsync(() => inner.InFlight == 8, "8 calls are in flight");
        await Task.Delay(50);
        int inFlightWhileBlocked = inner.InFlight;
        gate.SetResult();
        IReadOnlyList<RewardResult> results = await scoring.WaitAsync(TimeSpan.FromSeconds(10));

        inFlightWhileBlocked.Should().Be(8, "no call may start while 8 are in flight");
        inner.MaxInFlight.Should().Be(8);
        inner.Calls.Should().Be(64, "the default fans out one call per item");
        inner.Batches.Should().OnlyContain(b => b.Length == 1);
        results.Select(r => r.Value).Should().Equal(requests.Select(r => FakeRewardModel.Deterministic(r).Value));
    }

    [Fact]
    public async Task The_limit_holds_over_concurrent_batches()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var inner = new FakeRewardModel { OnCall = (_, ct) => gate.Task.WaitAsync(ct) };
        using IRewardModel model = inner.AsBuilder().UseConcurrencyLimit(4).Build();

        Task<IReadOnlyList<RewardResult>> first = Task.Run(() => model.ScoreAsync(Requests(20)));
        Task<IReadOnlyList<RewardResult>> second = Task.Run(() => model.ScoreAsync(Requests(20)));
        await PipelineServices.WaitUntilAsync(() => inner.InFlight == 4, "4 calls are in flight");
        await Task.Delay(50);
        int inFlightWhileBlocked = inner.InFlight;
        gate.SetResult();
        await Task.WhenAll(first, second).WaitAsync(TimeSpan.FromSeconds(10));

        inFlightWhileBlocked.Should().Be(4);
        inner.MaxInFlight.Should().Be(4);
        inner.Calls.Should().Be(40);
    }

    [Fact]
    public async Task Results_keep_request_order_when_calls_finish_out_of_order()
    {
        var random = new Random(1234);
        int[] delays = [.. Enumerable.Range(0, 24).Select(_ => random.Next(0, 15))];
        RewardRequest[] requests = Requests(24);
        var inner = new FakeRewardModel
        {
            OnCall = (batch, ct) => Task.Delay(delays[int.Parse(batch[0].Id!["item-".Length..], System.Globalization.CultureInfo.InvariantCulture)], ct),
        };
        using IRewardModel model = inner.AsBuilder().UseConcurrencyLimit(6).Build();

        IReadOnlyList<RewardResult> results = await model.ScoreAsync(requests);

        results.Select(r => r.Value).Should().Equal(requests.Select(r => FakeRewardModel.Deterministic(r).Value));
    }

    [Fact]
    public async Task MaxBatchSize_cuts_a_batch_into_consecutive_chunks()
    {
        var inner = new FakeRewardModel();
        using IRewardModel model = inner.AsBuilder().UseConcurrencyLimit(new RewardConcurrencyLimitOptions { MaxConcurrency = 2, MaxBatchSize = 4 }).Build();
        RewardRequest[] requests = Requests(10);

        IReadOnlyList<RewardResult> results = await model.ScoreAsync(requests);

        inner.Batches.Select(b => string.Join(",", b.Select(r => r.Id))).Should().BeEquivalentTo(
            "item-0,item-1,item-2,item-3", "item-4,item-5,item-6,item-7", "item-8,item-9");
        results.Select(r => r.Value).Should().Equal(requests.Select(r => FakeRewardModel.Deterministic(r).Value));
    }

    [Fact]
    public async Task Cancellation_reaches_in_flight_calls_and_stops_waiting_ones()
    {
        var inner = new FakeRewardModel { OnCall = (_, ct) => Task.Delay(Timeout.Infinite, ct) };
        using IRewardModel model = inner.AsBuilder().UseConcurrencyLimit(3).Build();
        using var cts = new CancellationTokenSource();

        Task<IReadOnlyList<RewardResult>> scoring = model.ScoreAsync(Requests(10), cts.Token);
        await PipelineServices.WaitUntilAsync(() => inner.InFlight == 3, "3 calls are in flight");
        await cts.CancelAsync();

        await FluentActions.Awaiting(() => scoring.WaitAsync(TimeSpan.FromSeconds(10))).Should().ThrowAsync<OperationCanceledException>();
        inner.InFlight.Should().Be(0);
        inner.Calls.Should().Be(3, "the 7 waiting items never reached the inner model");
    }

    [Fact]
    public async Task An_exception_from_one_call_cancels_the_others_and_propagates()
    {
        var inner = new FakeRewardModel
        {
            OnCall = (batch, ct) => batch[0].Id == "item-2"
                ? Task.FromException(new InvalidOperationException("reader crashed"))
                : Task.Delay(Timeout.Infinite, ct),
        };
        using IRewardModel model = inner.AsBuilder().UseConcurrencyLimit(4).Build();

        Func<Task> act = () => model.ScoreAsync(Requests(8)).WaitAsync(TimeSpan.FromSeconds(10));

        await act.Should().ThrowAsync<InvalidOperationException>().WithMessage("reader crashed");
        inner.InFlight.Should().Be(0);
    }

    [Fact]
    public async Task An_inner_model_returning_the_wrong_number_of_results_is_reported()
    {
        using IRewardModel model = new WrongCountModel().AsBuilder().UseConcurrencyLimit(2).Build();

        Func<Task> act = () => model.ScoreAsync(Requests(1));

        await act.Should().ThrowAsync<InvalidOperationException>().WithMessage(
            "The reward model called by the concurrency limit stage returned 2 results for 1 requests; a reward model must return one result per request.");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(4097)]
    public void Out_of_range_limits_are_rejected(int maxConcurrency)
    {
        Action act = () => new FakeRewardModel().AsBuilder().UseConcurrencyLimit(maxConcurrency);

        act.Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be("maxConcurrency");
    }

    [Fact]
    public void Invalid_options_are_rejected_with_every_problem_listed()
    {
        Action act = () => new FakeRewardModel().AsBuilder().UseConcurrencyLimit(new RewardConcurrencyLimitOptions { MaxConcurrency = 0, MaxBatchSize = 5000 });

        act.Should().Throw<ArgumentException>().Which.Message.Should().Be(
            "RewardConcurrencyLimitOptions is invalid: "
            + "DataAnnotation validation failed for 'RewardConcurrencyLimitOptions' members: 'MaxConcurrency' with the error: 'The field MaxConcurrency must be between 1 and 4096.'.; "
            + "DataAnnotation validation failed for 'RewardConcurrencyLimitOptions' members: 'MaxBatchSize' with the error: 'The field MaxBatchSize must be between 1 and 4096.'. (Parameter 'options')");
    }

    [Fact]
    public void Defaults_are_16_calls_of_one_item()
    {
        var options = new RewardConcurrencyLimitOptions();

        options.MaxConcurrency.Should().Be(16);
        options.MaxBatchSize.Should().Be(1);
    }

    private sealed class WrongCountModel : IRewardModel
    {
        public Task<IReadOnlyList<RewardResult>> ScoreAsync(IReadOnlyList<RewardRequest> requests, CancellationToken cancellationToken = default) =>
            Task.FromResult<IReadOnlyList<RewardResult>>([RewardResult.Scored(1), RewardResult.Scored(1)]);

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }
}

public sealed class ConcurrencyLimitContractTests : RewardModelContractTests
{
    protected override IRewardModel CreateModel() =>
        new FakeRewardModel { OnCall = (_, ct) => Task.Delay(1, ct) }.AsBuilder().UseConcurrencyLimit(3).Build();
}
