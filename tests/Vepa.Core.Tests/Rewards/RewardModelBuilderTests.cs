using Vepa.Core.Tests.Rewards.Fakes;

namespace Vepa.Core.Tests.Rewards;

public sealed class RewardModelBuilderTests
{
    [Fact]
    public async Task First_stage_added_is_outermost()
    {
        var log = new List<string>();
        var inner = new FakeRewardModel();

        using IRewardModel model = inner.AsBuilder()
            .Use(m => new RecordingStage(m, "first", log))
            .Use(m => new RecordingStage(m, "second", log))
            .Use((m, _) => new RecordingStage(m, "third", log))
            .Build();
        await model.ScoreAsync(RewardModelContractTests.DefaultRequests());

        log.Should().Equal("first", "second", "third");
        var first = model.Should().BeOfType<RecordingStage>().Subject;
        first.Name.Should().Be("first");
        var second = first.Inner.Should().BeOfType<RecordingStage>().Subject;
        second.Name.Should().Be("second");
        var third = second.Inner.Should().BeOfType<RecordingStage>().Subject;
        third.Inner.Should().BeSameAs(inner);
    }

    [Fact]
    public void Build_without_stages_returns_the_inner_model()
    {
        var inner = new FakeRewardModel();

        new RewardModelBuilder(inner).Build().Should().BeSameAs(inner);
    }

    [Fact]
    public void Stages_and_the_inner_factory_receive_the_service_provider_given_to_Build()
    {
        var services = new DictionaryServices { [typeof(TimeProvider)] = TimeProvider.System };
        IServiceProvider? seenByInner = null;
        IServiceProvider? seenByStage = null;

        new RewardModelBuilder(sp => { seenByInner = sp; return new FakeRewardModel(); })
            .Use((m, sp) => { seenByStage = sp; return m; })
            .Build(services);

        seenByInner.Should().BeSameAs(services);
        seenByStage.Should().BeSameAs(services);
    }

    [Fact]
    public void Build_without_a_provider_gives_stages_an_empty_one()
    {
        object? resolved = new object();

        new RewardModelBuilder(new FakeRewardModel()).Use((m, sp) => { resolved = sp.GetService(typeof(TimeProvider)); return m; }).Build();

        resolved.Should().BeNull();
    }

    [Fact]
    public void A_stage_returning_null_fails_the_build_naming_its_position()
    {
        var builder = new RewardModelBuilder(new FakeRewardModel()).Use(m => m).Use(_ => null!);

        Action act = () => builder.Build();

        act.Should().Throw<InvalidOperationException>().WithMessage("The reward pipeline stage at position 1 returned null.");
    }

    [Fact]
    public void An_inner_factory_returning_null_fails_the_build()
    {
        var builder = new RewardModelBuilder(_ => null!);

        Action act = () => builder.Build();

        act.Should().Throw<InvalidOperationException>().WithMessage("The inner reward model factory returned null.");
    }

    [Fact]
    public void Null_arguments_are_rejected()
    {
        var builder = new RewardModelBuilder(new FakeRewardModel());

        FluentActions.Invoking(() => new RewardModelBuilder((IRewardModel)null!)).Should().Throw<ArgumentNullException>().Which.ParamName.Should().Be("innerModel");
        FluentActions.Invoking(() => new RewardModelBuilder((Func<IServiceProvider, IRewardModel>)null!)).Should().Throw<ArgumentNullException>().Which.ParamName.Should().Be("innerModelFactory");
        FluentActions.Invoking(() => builder.Use((Func<IRewardModel, IRewardModel>)null!)).Should().Throw<ArgumentNullException>().Which.ParamName.Should().Be("stageFactory");
        FluentActions.Invoking(() => builder.Use((Func<IRewardModel, IServiceProvider, IRewardModel>)null!)).Should().Throw<ArgumentNullException>().Which.ParamName.Should().Be("stageFactory");
    }

    private sealed class DictionaryServices : Dictionary<Type, object>, IServiceProvider
    {
        public object? GetService(Type serviceType) => TryGetValue(serviceType, out object? service) ? service : null;
    }
}
