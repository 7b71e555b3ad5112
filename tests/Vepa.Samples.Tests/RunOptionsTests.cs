using Vepa.Samples.SceneVepa;
using Vepa.Samples.SceneVepa.Reading;

namespace Vepa.Samples.Tests;

public sealed class RunOptionsTests
{
    [Fact]
    public void Defaults_are_the_main_run()
    {
        var options = RunOptions.Parse([]);
        options.Seeds.Should().Be(3);
        options.Reward.Should().Be(RewardKind.SufficiencyHonestyRepetition);
        options.GroupSize.Should().Be(4);
        options.Beta.Should().Be(0.01);
        options.Quick.Should().BeFalse();
        options.OutputFolder.Should().Be("scene-vepa-report");
    }

    [Fact]
    public void Overlap_is_off_by_default_and_on_with_its_flag()
    {
        RunOptions.Parse([]).Overlap.Should().BeFalse();
        RunOptions.Parse(["--overlap", "--quick"]).Overlap.Should().BeTrue();
        RunOptions.Usage.Should().Contain("--overlap");
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

    [Theory]
    [InlineData("shg", nameof(RewardKind.SufficiencyHonestyRepetition))]
    [InlineData("s", nameof(RewardKind.Sufficiency))]
    [InlineData("sh", nameof(RewardKind.SufficiencyHonesty))]
    [InlineData("signed", nameof(RewardKind.Signed))]
    [InlineData("grounded", nameof(RewardKind.Grounded))]
    public void The_ablation_flags_parse(string reward, string expectedName)
    {
        var expected = Enum.Parse<RewardKind>(expectedName);
        var options = RunOptions.Parse(["--reward", reward, "--group-size", "8", "--beta", "0", "--no-table3", "--caption-per-seed"]);
        options.Reward.Should().Be(expected);
        options.GroupSize.Should().Be(8);
        options.Beta.Should().Be(0);
        options.SkipTable3.Should().BeTrue();
        options.CaptionPerSeed.Should().BeTrue();
    }

    [Fact]
    public void Bad_ablation_values_are_all_listed()
    {
        string missing = Path.Combine(Path.GetTempPath(), "no-such-caption-" + Guid.NewGuid().ToString("N") + ".pt");
        var act = () => RunOptions.Parse(["--reward", "magic", "--group-size", "1", "--beta", "-0.5", "--caption-from", missing]);
        act.Should().Throw<ArgumentException>()
            .Which.Message.Should().Contain("--reward must be one of shg, s, sh, signed, grounded; got \"magic\"")
            .And.Contain("--group-size must be an integer in [2, 64]; got \"1\"")
            .And.Contain("--beta must be a number in [0, 10); got \"-0.5\"")
            .And.Contain("--caption-from: the file").And.Contain("does not exist");
    }

    [Fact]
    public void A_caption_per_seed_and_a_loaded_caption_model_exclude_each_other()
    {
        string file = Path.GetTempFileName();
        try
        {
            var act = () => RunOptions.Parse(["--caption-per-seed", "--caption-from", file]);
            act.Should().Throw<ArgumentException>().WithMessage("*--caption-per-seed and --caption-from exclude each other*");
        }
        finally
        {
            File.Delete(file);
        }
    }
}
