using Vepa.Core.Tests.Rewards.Fakes;

namespace Vepa.Core.Tests.Rewards;

public sealed class DelegatingRewardModelTests
{
    [Fact]
    public async Task ScoreAsync_forwards_the_batch_and_token_and_returns_the_inner_results()
    {
        using var cts = new CancellationTokenSource();
        CancellationToken seen = default;
        var inner = new FakeRewardModel { OnCall = (_, token) => { seen = token; return Task.CompletedTask; } };
        using var stage = new PassThrough(inner);
        IReadOnlyList<RewardRequest> requests = RewardModelContractTests.DefaultRequests();

        IReadOnlyList<RewardResult> results = await stage.ScoreAsync(requests, cts.Token);

        seen.Should().Be(cts.Token);
        inner.Batches.Should().ContainSingle().Which.Should().Equal(requests);
        results.Select(r => r.Value).Should().Equal(requests.Select(r => FakeRewardModel.Deterministic(r).Value));
    }

    [Fact]
    public void GetService_returns_the_stage_for_its_own_types_and_asks_the_inner_model_otherwise()
    {
        var inner = new FakeRewardModel();
        using var stage = new PassThrough(inner);

        stage.GetService(typeof(IRewardModel)).Should().BeSameAs(stage);
        stage.GetService(typeof(DelegatingRewardModel)).Should().BeSameAs(stage);
        stage.GetService(typeof(FakeRewardModel)).Should().BeSameAs(inner);
        stage.GetService<FakeRewardModel>().Should().BeSameAs(inner);
        stage.GetService(typeof(IRewardModel), serviceKey: "k").Should().BeNull("a keyed request goes to the inner model, which has no keyed services");
        stage.GetService(typeof(string)).Should().BeNull();
    }

    [Fact]
    public void Dispose_disposes_the_inner_model()
    {
        var inner = new FakeRewardModel();
        var stage = new PassThrough(inner);

        stage.Dispose();

        inner.DisposeCount.Should().Be(1);
    }

    [Fact]
    public void Constructor_rejects_a_null_inner_model()
    {
        Action act = () => _ = new PassThrough(null!);

        act.Should().Throw<ArgumentNullException>().Which.ParamName.Should().Be("innerModel");
    }

    private sealed class PassThrough(IRewardModel inner) : DelegatingRewardModel(inner);
}

/// <summary>A bare <see cref="DelegatingRewardModel"/> meets the contract.</summary>
public sealed class DelegatingRewardModelContractTests : RewardModelContractTests
{
    protected override IRewardModel CreateModel() => new PassThrough(new FakeRewardModel());

    private sealed class PassThrough(IRewardModel inner) : DelegatingRewardModel(inner);
}
