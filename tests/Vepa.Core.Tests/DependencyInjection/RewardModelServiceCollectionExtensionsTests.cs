using Microsoft.Extensions.DependencyInjection;
using Vepa.Core.Tests.Rewards;
using Vepa.Core.Tests.Rewards.Fakes;

namespace Vepa.Core.Tests.DependencyInjection;

public sealed class RewardModelServiceCollectionExtensionsTests
{
    [Fact]
    public async Task AddRewardModel_registers_a_singleton_pipeline_with_the_stages_added_to_the_builder()
    {
        var services = new ServiceCollection();
        var inner = new FakeRewardModel();
        var log = new List<string>();

        RewardModelBuilder builder = services.AddRewardModel(inner);
        builder.Use(m => new RecordingStage(m, "outer", log)).Use(m => new RecordingStage(m, "inner", log));
        using ServiceProvider provider = services.BuildServiceProvider();
        var model = provider.GetRequiredService<IRewardModel>();
        IReadOnlyList<RewardResult> results = await model.ScoreAsync(RewardModelContractTests.DefaultRequests());

        provider.GetRequiredService<IRewardModel>().Should().BeSameAs(model);
        model.Should().BeOfType<RecordingStage>().Which.Name.Should().Be("outer");
        log.Should().Equal("outer", "inner");
        inner.Calls.Should().Be(1);
        results.Should().HaveCount(6);
        services.Should().ContainSingle(d => d.ServiceType == typeof(IRewardModel)).Which.Lifetime.Should().Be(ServiceLifetime.Singleton);
    }

    [Fact]
    public void Stages_and_the_inner_factory_resolve_from_the_container()
    {
        var services = new ServiceCollection();
        var clock = new FixedClock();
        services.AddSingleton<TimeProvider>(clock);
        TimeProvider? seenByInner = null;
        TimeProvider? seenByStage = null;

        services.AddRewardModel(sp => { seenByInner = sp.GetService<TimeProvider>(); return new FakeRewardModel(); })
            .Use((m, sp) => { seenByStage = sp.GetService<TimeProvider>(); return m; });
        using ServiceProvider provider = services.BuildServiceProvider();
        _ = provider.GetRequiredService<IRewardModel>();

        seenByInner.Should().BeSameAs(clock);
        seenByStage.Should().BeSameAs(clock);
    }

    [Fact]
    public void A_second_registration_does_not_replace_the_first()
    {
        var services = new ServiceCollection();
        var first = new FakeRewardModel();
        var second = new FakeRewardModel();

        services.AddRewardModel(first);
        services.AddRewardModel(second);
        using ServiceProvider provider = services.BuildServiceProvider();

        provider.GetRequiredService<IRewardModel>().Should().BeSameAs(first);
        services.Count(d => d.ServiceType == typeof(IRewardModel)).Should().Be(1);
    }

    [Fact]
    public void Keyed_registrations_resolve_by_key_and_leave_the_unkeyed_service_alone()
    {
        var services = new ServiceCollection();
        var a = new FakeRewardModel();
        var b = new FakeRewardModel();
        var ignored = new FakeRewardModel();

        services.AddKeyedRewardModel("a", a);
        services.AddKeyedRewardModel("b", _ => b);
        services.AddKeyedRewardModel("a", ignored);
        using ServiceProvider provider = services.BuildServiceProvider();

        provider.GetRequiredKeyedService<IRewardModel>("a").Should().BeSameAs(a);
        provider.GetRequiredKeyedService<IRewardModel>("b").Should().BeSameAs(b);
        provider.GetService<IRewardModel>().Should().BeNull();
    }

    [Fact]
    public void Disposing_the_container_disposes_the_pipeline_and_its_inner_model()
    {
        var services = new ServiceCollection();
        var inner = new FakeRewardModel();
        services.AddRewardModel(inner).Use(m => new RecordingStage(m, "stage", []));
        ServiceProvider provider = services.BuildServiceProvider();
        _ = provider.GetRequiredService<IRewardModel>();

        provider.Dispose();

        inner.DisposeCount.Should().Be(1);
    }

    [Fact]
    public void Null_arguments_are_rejected()
    {
        var services = new ServiceCollection();
        var model = new FakeRewardModel();

        FluentActions.Invoking(() => ((IServiceCollection)null!).AddRewardModel(model)).Should().Throw<ArgumentNullException>().Which.ParamName.Should().Be("services");
        FluentActions.Invoking(() => services.AddRewardModel((IRewardModel)null!)).Should().Throw<ArgumentNullException>().Which.ParamName.Should().Be("innerModel");
        FluentActions.Invoking(() => services.AddRewardModel((Func<IServiceProvider, IRewardModel>)null!)).Should().Throw<ArgumentNullException>().Which.ParamName.Should().Be("innerModelFactory");
        FluentActions.Invoking(() => services.AddKeyedRewardModel(null!, model)).Should().Throw<ArgumentNullException>().Which.ParamName.Should().Be("serviceKey");
        FluentActions.Invoking(() => services.AddKeyedRewardModel("k", (IRewardModel)null!)).Should().Throw<ArgumentNullException>().Which.ParamName.Should().Be("innerModel");
        FluentActions.Invoking(() => services.AddKeyedRewardModel("k", (Func<IServiceProvider, IRewardModel>)null!)).Should().Throw<ArgumentNullException>().Which.ParamName.Should().Be("innerModelFactory");
        services.Should().BeEmpty();
    }

    private sealed class FixedClock : TimeProvider;
}
