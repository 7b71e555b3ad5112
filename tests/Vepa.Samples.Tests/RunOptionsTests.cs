using Vepa.Samples.SceneVepa;

namespace Vepa.Samples.Tests;

public sealed class RunOptionsTests
{
    [Fact]
    public void Defaults_are_the_main_run()
    {
        var options = RunOptions.Parse([]);
        options.Seeds.Should().Be(3);
        options.Quick.Should().BeFalse();
        options.OutputFolder.Should().Be("scene-vepa-report");
    }

    [Fact]
    public void Quick_is_one_short_seed_and_later_options_override_it()
    {
        var options = RunOptions.Parse(["--quick", "--vepa-steps", "7"]);
        options.Seeds.Should().Be(1);
        options.VepaSteps.Should().Be(7);
        options.CaptionSteps.Should().BeLessThan(RunOptions.Parse([]).CaptionSteps);
    }

    [Fact]
    public void Every_problem_is_listed_at_once()
    {
        var act = () => RunOptions.Parse(["--bogus", "--seeds", "zero", "--reader-endpoint", "ftp://x", "--out"]);
        act.Should().Throw<ArgumentException>()
            .Which.Message.Should().Contain("Unknown option \"--bogus\"")
            .And.Contain("--seeds must be an integer in [1, 20]; got \"zero\"")
            .And.Contain("--reader-endpoint must be an absolute http or https URL")
            .And.Contain("--out needs a value");
    }

    [Fact]
    public void An_endpoint_needs_a_model_name()
    {
        var act = () => RunOptions.Parse(["--reader-endpoint", "http://127.0.0.1:1/v1"]);
        act.Should().Throw<ArgumentException>().WithMessage("*--reader-endpoint and --reader-model go together*");
    }
}
