using Vepa.Grpo;

namespace Vepa.Engines.Tests;

/// <summary>
/// A vLLM reload that fails is followed by a resume (so the engine is not left paused); when that resume fails too, the error still
/// reports the reload's failure and names the resume's in its message, never in its place.
/// </summary>
public sealed class ReloadFailureTests
{
    [Fact]
    public async Task A_failed_reload_keeps_its_own_error_when_the_resume_after_it_fails_too()
    {
        await using var setup = await EngineSetup.StartAsync(Engine.Vllm);
        var sampler = setup.CreateSampler();
        using var owned = (IDisposable)sampler;
        var sync = (IWeightSynchronizer)sampler.GetService(typeof(IWeightSynchronizer))!;
        setup.Server.Inject(EngineFault.ReloadFails);
        setup.Server.ResumeFails = true;

        var act = () => sync.SynchronizeAsync(setup.Trainer, 1);

        var thrown = await act.Should().ThrowAsync<WeightSyncException>();
        thrown.Which.Version.Should().Be(1);
        var cause = thrown.WithInnerExceptionExactly<EngineRequestException>()
            .WithMessage("Reloading weights at *collective_rpc failed after *HTTP 500* Resuming generation afterwards failed too (Resuming generation at *resume failed after *HTTP 500*); the engine may be left paused.")
            .Which;
        cause.StatusCode.Should().Be(500, "the reload's status");
        cause.Endpoint!.AbsolutePath.Should().Be("/collective_rpc", "the reload's endpoint");
        setup.Server.Calls("/collective_rpc").Should().Be(1);
        setup.Server.Calls("/resume").Should().BeGreaterThanOrEqualTo(1, "a failed reload is still followed by a resume");
        ((EngineRolloutSampler)sampler).WeightVersion.Should().BeNull("the engine did not load version 1");
    }

    [Fact]
    public async Task A_resume_that_fails_after_a_good_reload_stops_the_sync_saying_the_engine_is_paused_with_the_new_version()
    {
        await using var setup = await EngineSetup.StartAsync(Engine.Vllm);
        var sampler = setup.CreateSampler();
        using var owned = (IDisposable)sampler;
        var sync = (IWeightSynchronizer)sampler.GetService(typeof(IWeightSynchronizer))!;
        setup.Server.ResumeFails = true;

        var act = () => sync.SynchronizeAsync(setup.Trainer, 1);

        var thrown = (await act.Should().ThrowAsync<WeightSyncException>()
            .WithMessage("Weight sync to version 1: the engine loaded it, but resuming generation afterwards failed, so the engine is left paused. Resuming generation at *resume failed after *HTTP 500*")).Which;
        thrown.Version.Should().Be(1);
        thrown.InnerException.Should().BeOfType<EngineRequestException>().Which.Endpoint!.AbsolutePath.Should().Be("/resume");
        setup.Server.Calls("/collective_rpc").Should().Be(1);
        ((EngineRolloutSampler)sampler).WeightVersion.Should().Be(1, "the engine holds version 1");
    }
}
