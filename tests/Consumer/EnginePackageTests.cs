using Vepa.Engines;
using Vepa.Models;

namespace Vepa.Consumer;

/// <summary>Vepa.Engines and Vepa.Models as an application gets them from the packed feed: they restore together and their entry points work.</summary>
public sealed class EnginePackageTests
{
    [Fact]
    public void An_engine_sampler_describes_itself_as_remote_and_offers_a_weight_synchronizer_only_when_configured()
    {
        using var plain = new VllmRolloutSampler(new EngineSamplerOptions { BaseAddress = new Uri("http://127.0.0.1:8000/"), Model = "policy" });
        var metadata = (RolloutSamplerMetadata)plain.GetService(typeof(RolloutSamplerMetadata))!;
        metadata.SamplesRemotely.Should().BeTrue();
        metadata.Endpoint.Should().Be(new Uri("http://127.0.0.1:8000/"));
        plain.GetService(typeof(IWeightSynchronizer)).Should().BeNull("no snapshot folder was configured");

        string folder = Path.Combine(Path.GetTempPath(), "vepa-consumer-" + Guid.NewGuid().ToString("N"));
        using var synced = new SglangRolloutSampler(new EngineSamplerOptions
        {
            BaseAddress = new Uri("http://127.0.0.1:30000/"),
            WeightSync = new FullWeightSyncOptions { SnapshotDirectory = folder },
        });
        synced.GetService(typeof(IWeightSynchronizer)).Should().BeAssignableTo<IWeightSynchronizer>();
    }

    [Fact]
    public void Engine_and_lora_options_are_validated_with_the_argument_named()
    {
        var noAddress = () => new VllmRolloutSampler(new EngineSamplerOptions());
        noAddress.Should().Throw<ArgumentException>().WithMessage("*BaseAddress*");

        var lora = new LoraOptions { Rank = 0 };
        var validate = () => lora.Validate();
        validate.Should().Throw<ArgumentException>().WithMessage("*Rank*");
    }
}
