using Vepa.Models;
using Vepa.Models.Tests;
using Vepa.Rewards;
using Vepa.Samples.QwenVepa;

namespace Vepa.Samples.Tests;

/// <summary>The QwenVepa host path end to end on the tiny random Qwen2-VL and Qwen2 snapshots with the offline reader.</summary>
public sealed class QwenVepaRunTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "qwen-vepa-test-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_folder))
        {
            Directory.Delete(_folder, recursive: true);
        }
    }

    [Fact]
    public async Task A_run_trains_checkpoints_resumes_and_saves_a_snapshot_that_loads()
    {
        string model = QwenPolicySnapshot.VisionPath;
        var (options, problems) = QwenVepaOptions.Parse(
            ["--model", model, "--out", _folder, "--steps", "2", "--prompts", "2", "--group-size", "2", "--max-new-tokens", "4", "--image-size", "56", "--learning-rate", "1e-3"]);
        problems.Should().BeEmpty();
        using var reward = new SufficiencyRewardModel(new ShapeReader());
        var log = new StringWriter();

        var first = await QwenVepaRun.RunAsync(options!, reward, log, CancellationToken.None);

        first.SupportsImages.Should().BeTrue();
        first.Steps.Select(s => s.Step).Should().Equal(1, 2);
        first.Steps.Should().OnlyContain(s => double.IsFinite(s.Loss) && s.RolloutCount == 4 && s.FailedRewardCount == 0);
        log.ToString().Should().Contain("step 2/2: reward");
        File.ReadAllLines(Path.Combine(_folder, "steps.jsonl")).Should().HaveCount(2);
        Directory.GetDirectories(Path.Combine(_folder, "checkpoints"), "step-*").Should().NotBeEmpty();

        // The trained snapshot loads as a policy with the same parameters. A random policy's 4-token evidence never names the
        // answer, so every group has zero signal and the weights stay where they were (a real snapshot learns; see docs/models.md).
        using (var trained = QwenPolicy.FromPretrained(first.TrainedSnapshot))
        using (var start = QwenPolicy.FromPretrained(model))
        {
            var before = start.GetState();
            trained.GetState().Keys.Should().BeEquivalentTo(before.Keys);
            float moved = trained.GetState().Max(p => (p.Value - before[p.Key]).abs().max().item<float>());
            bool signal = first.Steps.Any(s => s.ZeroSignalGroupFraction < 1);
            (moved > 0).Should().Be(signal, "the weights move exactly when some group had reward signal");
        }

        // The same command with more steps continues after step 2.
        var (more, _) = QwenVepaOptions.Parse(
            ["--model", model, "--out", _folder, "--steps", "3", "--prompts", "2", "--group-size", "2", "--max-new-tokens", "4", "--image-size", "56", "--learning-rate", "1e-3"]);
        var second = await QwenVepaRun.RunAsync(more!, reward, log, CancellationToken.None);
        second.Steps.Select(s => s.Step).Should().Equal(3);
        log.ToString().Should().Contain("resumed from");
    }

    [Fact]
    public void Bad_arguments_are_all_reported()
    {
        var (options, problems) = QwenVepaOptions.Parse(["--model", "/no/such/folder", "--steps", "0", "--device", "tpu", "--reader-model", "x", "--what"]);

        options.Should().BeNull();
        problems.Should().Contain(p => p.Contains("/no/such/folder", StringComparison.Ordinal))
            .And.Contain(p => p.StartsWith("--steps must be an integer >= 1", StringComparison.Ordinal))
            .And.Contain(p => p.StartsWith("--device must be cpu or cuda", StringComparison.Ordinal))
            .And.Contain(p => p.StartsWith("--reader-endpoint and --reader-model go together", StringComparison.Ordinal))
            .And.Contain("Unknown argument \"--what\".");
    }

    [Theory]
    [InlineData("What colour is the shape in the picture?", "A bright red square sits on the left.", "red", true)]
    [InlineData("Which kind of shape is drawn in the picture?", "There is a round blue circle on the right half.", "circle", true)]
    [InlineData("Is the shape on the left or on the right of the picture?", "A yellow triangle, placed on the right side.", "right", true)]
    [InlineData("What colour is the shape in the picture?", "Red.", "", false)]
    [InlineData("What colour is the shape in the picture?", "A shape on a grey background.", "", true)]
    public void The_offline_reader_answers_from_the_evidence_and_flags_bare_answers(string question, string evidence, string answer, bool honest)
    {
        var reply = ShapeReader.Read(question, evidence);

        reply.Answer.Should().Be(answer);
        reply.IsHonest.Should().Be(honest);
    }
}
