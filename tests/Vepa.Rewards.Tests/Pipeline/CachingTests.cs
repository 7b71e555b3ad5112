using Vepa.Core.Tests.Rewards;
using Vepa.Core.Tests.Rewards.Fakes;

namespace Vepa.Rewards.Tests.Pipeline;

public sealed class CachingTests
{
    [Fact]
    public async Task A_group_of_identical_evidences_costs_one_inner_item()
    {
        // Three prompts, G = 4 samples each, every sample of a prompt identical (a collapsed policy).
        string[] evidences = ["A red ball.", "Two green cubes stand there.", string.Empty];
        RewardRequest[] batch = [.. Enumerable.Range(0, 12).Select(i => new RewardRequest($"Q{i / 4}?", "red", evidences[i / 4]) { Id = $"p{i / 4}-s{i % 4}" })];
        var inner = new FakeRewardModel();
        using IRewardModel model = inner.AsBuilder().UseCaching().Build();

        IReadOnlyList<RewardResult> results = await model.ScoreAsync(batch);

        inner.Batches.Should().ContainSingle().Which.Select(r => r.Id).Should().Equal("p0-s0", "p1-s0", "p2-s0");
        results.Select(r => r.Value).Should().Equal(batch.Select(r => FakeRewardModel.Deterministic(r).Value));
    }

    [Fact]
    public async Task Requests_that_differ_in_any_scored_field_are_scored_separately()
    {
        RewardRequest[] batch =
        [
            new("Which?", "B", "The cylinder.", ["cube", "cylinder"]),
            new("Which?", "B", "The cylinder.", ["cylinder", "cube"]),
            new("Which?", "B", "The cylinder.", ["cube", "Cylinder"]),
            new("Which?", "B", "The cylinder."),
            new("Which?", "A", "The cylinder.", ["cube", "cylinder"]),
            new("Which ?", "B", "The cylinder.", ["cube", "cylinder"]),
            new("Which?", "B", "The cylinder ", ["cube", "cylinder"]),
            new("Which?", "B", "The cylinder.", ["cube", "cylinder"]) { Id = "same content, other id", Metadata = new Dictionary<string, object?> { ["image"] = 7 } },
        ];
        var inner = new FakeRewardModel();
        using IRewardModel model = inner.AsBuilder().UseCaching().Build();

        IReadOnlyList<RewardResult> results = await model.ScoreAsync(batch);

        inner.ItemsScored.Should().Be(7, "only the last request repeats the first (Id and Metadata are not part of the content)");
        results.Should().HaveCount(8);
        results[7].Should().BeSameAs(results[0]);
    }

    [Fact]
    public async Task Failures_are_given_to_every_copy()
    {
        var inner = new FakeRewardModel((_, _) => RewardResult.Failed("reader down", isTransient: true));
        using IRewardModel model = inner.AsBuilder().UseCaching().Build();
        var request = new RewardRequest("Q?", "A", "E");

        IReadOnlyList<RewardResult> results = await model.ScoreAsync([request, request, request]);

        inner.ItemsScored.Should().Be(1);
        results.Should().OnlyContain(r => r.Failure!.Reason == "reader down" && double.IsNaN(r.Value));
    }

    [Fact]
    public async Task Nothing_is_cached_across_batches_by_default()
    {
        var inner = new FakeRewardModel();
        using IRewardModel model = inner.AsBuilder().UseCaching().Build();
        var request = new RewardRequest("Q?", "A", "E");

        await model.ScoreAsync([request]);
        await model.ScoreAsync([request]);

        inner.Calls.Should().Be(2);
    }

    [Fact]
    public async Task A_bounded_cross_batch_cache_evicts_the_least_recently_used_result()
    {
        var inner = new FakeRewardModel();
        using IRewardModel model = inner.AsBuilder().UseCaching(new RewardCachingOptions { MaxCachedEntries = 2 }).Build();
        var a = new RewardRequest("Q?", "A", "evidence a") { Id = "a" };
        var b = new RewardRequest("Q?", "A", "evidence bb") { Id = "b" };
        var c = new RewardRequest("Q?", "A", "evidence ccc") { Id = "c" };

        await model.ScoreAsync([a]);
        await model.ScoreAsync([b]);
        IReadOnlyList<RewardResult> hit = await model.ScoreAsync([a with { Id = "a again" }]);
        await model.ScoreAsync([c]);
        await model.ScoreAsync([a, b]);

        inner.Batches.Select(batch => string.Join(",", batch.Select(r => r.Id))).Should().Equal("a", "b", "c", "b");
        hit[0].Value.Should().Be(FakeRewardModel.Deterministic(a).Value);
    }

    [Fact]
    public async Task The_cross_batch_cache_never_keeps_failures()
    {
        var inner = new FakeRewardModel((request, attempt) => attempt == 0 ? RewardResult.Failed("busy", isTransient: true) : FakeRewardModel.Deterministic(request));
        using IRewardModel model = inner.AsBuilder().UseCaching(new RewardCachingOptions { MaxCachedEntries = 10 }).Build();
        var request = new RewardRequest("Q?", "A", "E");

        IReadOnlyList<RewardResult> first = await model.ScoreAsync([request]);
        IReadOnlyList<RewardResult> second = await model.ScoreAsync([request]);
        IReadOnlyList<RewardResult> third = await model.ScoreAsync([request]);

        first[0].IsScored.Should().BeFalse();
        second[0].Value.Should().Be(FakeRewardModel.Deterministic(request).Value);
        third[0].Should().BeSameAs(second[0]);
        inner.Calls.Should().Be(2);
    }

    [Fact]
    public async Task A_null_request_in_the_batch_is_rejected_with_its_index()
    {
        using IRewardModel model = new FakeRewardModel().AsBuilder().UseCaching().Build();

        Func<Task> act = () => model.ScoreAsync([new RewardRequest("Q?", "A", "E"), null!]);

        (await act.Should().ThrowAsync<ArgumentException>().WithMessage("The request at index 1 is null. (Parameter 'requests')"))
            .Which.ParamName.Should().Be("requests");
    }

    [Fact]
    public void Invalid_options_are_rejected()
    {
        Action act = () => new FakeRewardModel().AsBuilder().UseCaching(new RewardCachingOptions { MaxCachedEntries = -1 });

        act.Should().Throw<ArgumentException>().Which.Message.Should().Be(
            "RewardCachingOptions is invalid: DataAnnotation validation failed for 'RewardCachingOptions' members: 'MaxCachedEntries' with the error: "
            + "'The field MaxCachedEntries must be between 0 and 10000000.'. (Parameter 'options')");
    }

    [Fact]
    public void By_default_nothing_is_kept_across_batches() => new RewardCachingOptions().MaxCachedEntries.Should().Be(0);
}

public sealed class CachingContractTests : RewardModelContractTests
{
    protected override IRewardModel CreateModel() => new FakeRewardModel().AsBuilder().UseCaching().Build();
}

public sealed class CrossBatchCachingContractTests : RewardModelContractTests
{
    protected override IRewardModel CreateModel() =>
        new FakeRewardModel().AsBuilder().UseCaching(new RewardCachingOptions { MaxCachedEntries = 3 }).Build();
}
