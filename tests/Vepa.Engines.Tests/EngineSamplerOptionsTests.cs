namespace Vepa.Engines.Tests;

/// <summary>The options' defaults and their validation messages (every problem at once).</summary>
public sealed class EngineSamplerOptionsTests
{
    [Fact]
    public void Defaults_are_the_documented_ones()
    {
        var options = new EngineSamplerOptions();
        options.MaxConcurrency.Should().Be(16);
        options.RequestTimeout.Should().Be(TimeSpan.FromMinutes(10));
        options.MaxRetries.Should().Be(2);
        options.RetryBaseDelay.Should().Be(TimeSpan.FromSeconds(1));
        var sync = new FullWeightSyncOptions();
        sync.KeepVersions.Should().Be(2);
        sync.Timeout.Should().Be(TimeSpan.FromMinutes(30));
        sync.PauseDuringReload.Should().BeTrue();
    }

    [Fact]
    public void Invalid_options_are_listed_in_one_exception()
    {
        var options = new EngineSamplerOptions
        {
            BaseAddress = new Uri("ftp://engine/"),
            MaxConcurrency = 0,
            MaxRetries = -1,
            RequestTimeout = TimeSpan.Zero,
            WeightSync = new FullWeightSyncOptions { KeepVersions = 0 },
        };

        var act = () => new SglangRolloutSampler(options);

        act.Should().Throw<ArgumentException>().WithMessage(
            "Invalid EngineSamplerOptions: MaxConcurrency must be in [1, 4096]; got 0. RequestTimeout must be in [1 ms, 1 day]; got 00:00:00. "
            + "MaxRetries must be in [0, 100]; got -1. BaseAddress must be an absolute http:// or https:// address; got \"ftp://engine/\". "
            + "WeightSync.SnapshotDirectory is required (a folder both the trainer and the engine can read); got null. WeightSync.KeepVersions must be in [1, 1000]; got 0.*");
        new Action(() => new VllmRolloutSampler(new EngineSamplerOptions())).Should().Throw<ArgumentException>()
            .WithMessage("Invalid EngineSamplerOptions: BaseAddress is required (the engine's http:// or https:// address); got null.*");
        var credentials = () => new VllmRolloutSampler(new EngineSamplerOptions { BaseAddress = new Uri("http://admin:s3cret@engine:8000/") });
        credentials.Should().Throw<ArgumentException>()
            .WithMessage("Invalid EngineSamplerOptions: BaseAddress must not carry credentials (user:password@); set ApiKey instead.*")
            .Which.Message.Should().NotContain("s3cret");
    }
}
