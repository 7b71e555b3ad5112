using FluentAssertions;
using Xunit;

namespace Vepa.Testing;

/// <summary>
/// The contract every <see cref="IRewardModel"/> meets. An implementation's test class inherits this class and overrides
/// <see cref="CreateModel"/>; every <c>[Fact]</c> below then runs against that implementation.
/// </summary>
/// <remarks>
/// <para>Protected hooks an implementation's test class may override:</para>
/// <list type="bullet">
/// <item><see cref="CreateModel"/> (required): a fresh model for one test; the test disposes it.</item>
/// <item><see cref="CreateRequests"/>: the batch the tests score (default: <see cref="DefaultRequests"/>).</item>
/// <item><see cref="IsDeterministic"/>: whether scoring the same request twice gives the same result (default <see langword="true"/>).</item>
/// <item><see cref="CallTimeout"/>: the longest one call may take before the test fails instead of hanging (default 30 s).</item>
/// <item><see cref="ConcurrentCallers"/>: how many callers score at once in the concurrency test (default 8).</item>
/// </list>
/// <para>Ships in the Vepa.Testing package so that plug-in authors run the same contract as Vepa's own reward models.</para>
/// </remarks>
public abstract class RewardModelContractTests
{
    /// <summary>Gets whether scoring the same request twice gives the same status, value and components.</summary>
    /// <value>The default is <see langword="true"/>. When <see langword="false"/>, the order and concurrency tests check counts and invariants only.</value>
    protected virtual bool IsDeterministic => true;

    /// <summary>Gets the longest one call to the model may take before the test fails rather than blocks.</summary>
    /// <value>The default is 30 seconds.</value>
    protected virtual TimeSpan CallTimeout => TimeSpan.FromSeconds(30);

    /// <summary>Gets how many callers score the batch at the same time in <see cref="Concurrent_calls_are_safe"/>.</summary>
    /// <value>The default is 8.</value>
    protected virtual int ConcurrentCallers => 8;

    /// <summary>Creates a fresh model under test. Each test disposes the model it created.</summary>
    /// <returns>The model.</returns>
    protected abstract IRewardModel CreateModel();

    /// <summary>Creates the batch the tests score: at least two requests that are not all identical.</summary>
    /// <returns>The requests; the default is <see cref="DefaultRequests"/>.</returns>
    protected virtual IReadOnlyList<RewardRequest> CreateRequests() => DefaultRequests();

    /// <summary>A small mixed batch: open questions, multiple-choice items (gold as label and as option text), and empty evidence.</summary>
    /// <returns>Six distinct requests.</returns>
    public static IReadOnlyList<RewardRequest> DefaultRequests() =>
    [
        new("What colour is the ball?", "red", "A small red ball lies on the grass next to a blue cube.") { Id = "open-1" },
        new("How many cubes are there?", "2", "Two green cubes stand behind a yellow cylinder.") { Id = "open-2" },
        new("What colour is the ball?", "red", string.Empty) { Id = "open-empty" },
        new("Which shape is largest?", "B", "The cylinder is the largest object; the cube and sphere are small.", ["cube", "cylinder", "sphere"]) { Id = "mc-label" },
        new("Which shape is largest?", "cylinder", "A tall cylinder towers over a small cube.", ["cube", "cylinder", "sphere"]) { Id = "mc-text" },
        new("Is the light on?", "yes", "The lamp on the desk glows brightly.") { Id = "open-yes" },
    ];

    /// <summary>Asserts that two results for the same request agree: status, value and components.</summary>
    /// <param name="expected">The reference result.</param>
    /// <param name="actual">The result to check.</param>
    /// <param name="because">Names the request in the failure message.</param>
    protected static void AssertSameOutcome(RewardResult expected, RewardResult actual, string because)
    {
        ArgumentNullException.ThrowIfNull(expected);
        actual.Should().NotBeNull(because);
        actual.Status.Should().Be(expected.Status, because);
        if (expected.IsScored)
        {
            actual.Value.Should().Be(expected.Value, because);
            actual.Components.Should().BeEquivalentTo(expected.Components, because);
        }
        else
        {
            double.IsNaN(actual.Value).Should().BeTrue(because);
        }
    }

    /// <summary>Asserts the invariants of one result: scored values are finite without a failure; failed values are NaN with a failure.</summary>
    /// <param name="result">The result.</param>
    /// <param name="because">Names the request in the failure message.</param>
    protected static void AssertWellFormed(RewardResult result, string because)
    {
        result.Should().NotBeNull(because);
        switch (result.Status)
        {
            case RewardStatus.Scored:
                result.IsScored.Should().BeTrue(because);
                double.IsFinite(result.Value).Should().BeTrue($"a scored value must be finite, got {result.Value}; {because}");
                result.Failure.Should().BeNull(because);
                break;
            case RewardStatus.Failed:
                result.IsScored.Should().BeFalse(because);
                double.IsNaN(result.Value).Should().BeTrue($"a failed value must be NaN (never 0), got {result.Value}; {because}");
                result.Failure.Should().NotBeNull(because);
                result.Failure!.Reason.Should().NotBeNullOrWhiteSpace(because);
                break;
            default:
                throw new Xunit.Sdk.XunitException($"Unknown status {result.Status}; {because}");
        }
    }

    /// <summary>Scores <paramref name="requests"/>, failing the test if the call takes longer than <see cref="CallTimeout"/>.</summary>
    /// <param name="model">The model.</param>
    /// <param name="requests">The batch.</param>
    /// <param name="cancellationToken">The token passed to the model.</param>
    /// <returns>The results.</returns>
    protected async Task<IReadOnlyList<RewardResult>> ScoreAsync(IRewardModel model, IReadOnlyList<RewardRequest> requests, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        return await model.ScoreAsync(requests, cancellationToken).WaitAsync(CallTimeout, CancellationToken.None);
    }

    /// <summary>One result per request; scored values finite without a failure, failed values NaN with a reason.</summary>
    /// <returns>A task that completes when the test has run.</returns>
    [Fact]
    public async Task Returns_one_well_formed_result_per_request()
    {
        using IRewardModel model = CreateModel();
        IReadOnlyList<RewardRequest> requests = CreateRequests();
        requests.Count.Should().BeGreaterThanOrEqualTo(2, "the contract tests need a batch of at least two requests");

        IReadOnlyList<RewardResult> results = await ScoreAsync(model, requests);

        results.Should().HaveCount(requests.Count);
        for (int i = 0; i < results.Count; i++)
        {
            AssertWellFormed(results[i], $"result {i} (request {requests[i].Id})");
        }
    }

    /// <summary>Results follow request order: a request scored alone, in a batch and in a reversed batch gets the same outcome.</summary>
    /// <returns>A task that completes when the test has run.</returns>
    [Fact]
    public async Task Results_are_in_request_order()
    {
        using IRewardModel model = CreateModel();
        IReadOnlyList<RewardRequest> requests = CreateRequests();

        IReadOnlyList<RewardResult> forward = await ScoreAsync(model, requests);
        IReadOnlyList<RewardResult> backward = await ScoreAsync(model, requests.Reverse().ToArray());

        forward.Should().HaveCount(requests.Count);
        backward.Should().HaveCount(requests.Count);
        if (!IsDeterministic)
        {
            return;
        }

        for (int i = 0; i < requests.Count; i++)
        {
            IReadOnlyList<RewardResult> alone = await ScoreAsync(model, [requests[i]]);
            alone.Should().HaveCount(1);
            AssertSameOutcome(alone[0], forward[i], $"request {i} ({requests[i].Id}) scored alone and in a batch must agree");
            AssertSameOutcome(alone[0], backward[requests.Count - 1 - i], $"request {i} ({requests[i].Id}) scored alone and in a reversed batch must agree");
        }
    }

    /// <summary>Repeated requests in one batch each get their own (equal) result.</summary>
    /// <returns>A task that completes when the test has run.</returns>
    [Fact]
    public async Task Duplicate_requests_each_get_their_own_result()
    {
        using IRewardModel model = CreateModel();
        IReadOnlyList<RewardRequest> requests = CreateRequests();
        RewardRequest[] batch = [requests[0], requests[1], requests[0], requests[0], requests[1]];

        IReadOnlyList<RewardResult> results = await ScoreAsync(model, batch);

        results.Should().HaveCount(batch.Length);
        for (int i = 0; i < results.Count; i++)
        {
            AssertWellFormed(results[i], $"result {i}");
        }

        if (IsDeterministic)
        {
            AssertSameOutcome(results[0], results[2], "identical requests get the same outcome");
            AssertSameOutcome(results[0], results[3], "identical requests get the same outcome");
            AssertSameOutcome(results[1], results[4], "identical requests get the same outcome");
        }
    }

    /// <summary>An empty batch returns an empty list.</summary>
    /// <returns>A task that completes when the test has run.</returns>
    [Fact]
    public async Task Empty_batch_returns_an_empty_list()
    {
        using IRewardModel model = CreateModel();

        IReadOnlyList<RewardResult> results = await ScoreAsync(model, Array.Empty<RewardRequest>());

        results.Should().NotBeNull().And.BeEmpty();
    }

    /// <summary>A <see langword="null"/> batch throws <see cref="ArgumentNullException"/> naming <c>requests</c>.</summary>
    /// <returns>A task that completes when the test has run.</returns>
    [Fact]
    public async Task Null_batch_throws_ArgumentNullException()
    {
        using IRewardModel model = CreateModel();

        Func<Task> act = () => model.ScoreAsync(null!);

        (await act.Should().ThrowAsync<ArgumentNullException>()).Which.ParamName.Should().Be("requests");
    }

    /// <summary>A cancelled token throws <see cref="OperationCanceledException"/>.</summary>
    /// <returns>A task that completes when the test has run.</returns>
    [Fact]
    public async Task Cancelled_token_throws_OperationCanceledException()
    {
        using IRewardModel model = CreateModel();
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();

        Func<Task> act = () => ScoreAsync(model, CreateRequests(), cts.Token);

        await act.Should().ThrowAsync<OperationCanceledException>();
    }

    /// <summary>Concurrent callers get well-formed results that agree with a single call.</summary>
    /// <returns>A task that completes when the test has run.</returns>
    [Fact]
    public async Task Concurrent_calls_are_safe()
    {
        using IRewardModel model = CreateModel();
        IReadOnlyList<RewardRequest> requests = CreateRequests();
        IReadOnlyList<RewardResult> reference = await ScoreAsync(model, requests);

        Task<IReadOnlyList<RewardResult>>[] calls = Enumerable.Range(0, ConcurrentCallers)
            .Select(_ => Task.Run(() => ScoreAsync(model, requests)))
            .ToArray();
        IReadOnlyList<RewardResult>[] all = await Task.WhenAll(calls);

        foreach (IReadOnlyList<RewardResult> results in all)
        {
            results.Should().HaveCount(requests.Count);
            for (int i = 0; i < results.Count; i++)
            {
                AssertWellFormed(results[i], $"result {i} of a concurrent call");
                if (IsDeterministic)
                {
                    AssertSameOutcome(reference[i], results[i], $"request {i} scored concurrently and alone must agree");
                }
            }
        }
    }

    /// <summary><see cref="IRewardModel.GetService"/> of <see cref="IRewardModel"/> returns a model.</summary>
    [Fact]
    public void GetService_of_IRewardModel_returns_a_model()
    {
        using IRewardModel model = CreateModel();

        object? service = model.GetService(typeof(IRewardModel));

        service.Should().NotBeNull().And.BeAssignableTo<IRewardModel>();
    }

    /// <summary><see cref="IRewardModel.GetService"/> of an unrelated type returns <see langword="null"/>.</summary>
    [Fact]
    public void GetService_of_an_unrelated_type_returns_null()
    {
        using IRewardModel model = CreateModel();

        model.GetService(typeof(UnrelatedService)).Should().BeNull();
    }

    /// <summary><see cref="IRewardModel.GetService"/> with a <see langword="null"/> type throws <see cref="ArgumentNullException"/> naming <c>serviceType</c>.</summary>
    [Fact]
    public void GetService_with_a_null_type_throws_ArgumentNullException()
    {
        using IRewardModel model = CreateModel();

        Action act = () => model.GetService(null!);

        act.Should().Throw<ArgumentNullException>().Which.ParamName.Should().Be("serviceType");
    }

    private sealed class UnrelatedService;
}
