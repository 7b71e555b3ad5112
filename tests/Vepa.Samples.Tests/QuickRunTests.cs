using System.Diagnostics;
using System.Text.Json;

namespace Vepa.Samples.Tests;

/// <summary>Runs the sample's executable as a user would: the --quick run end to end, and the bad-input exits.</summary>
public sealed class QuickRunTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "scene-vepa-test-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_folder))
        {
            Directory.Delete(_folder, recursive: true);
        }
    }

    [Fact]
    public async Task The_quick_run_writes_the_report_and_VEPA_raises_the_mean_reward()
    {
        var (exitCode, output) = await RunAsync(["--quick", "--out", _folder], TimeSpan.FromMinutes(5));
        exitCode.Should().Be(0, output);
        output.Should().Contain("Table 1 analogue").And.Contain("Table 2 analogue").And.Contain("Table 3 analogue");

        string report = await File.ReadAllTextAsync(Path.Combine(_folder, "report.md"));
        foreach (string heading in new[] { "## VEPA stage", "## Table 1 analogue", "## Table 2 analogue", "## Evidence faithfulness", "## Table 3 analogue", "### Table 3 investigation", "## Scenes" })
        {
            report.Should().Contain(heading);
        }

        foreach (string png in new[] { "vepa-reward.png", "table1-accuracy.png", "table2-evidence.png", "faithfulness.png", "faithfulness-by-family.png", "table3-noise.png", "table3-mask.png" })
        {
            var file = new FileInfo(Path.Combine(_folder, png));
            file.Exists.Should().BeTrue(png);
            file.Length.Should().BeGreaterThan(1000, png);
        }

        Directory.GetFiles(Path.Combine(_folder, "scenes"), "*.png").Should().NotBeEmpty();
        string[] stepLog = await File.ReadAllLinesAsync(Path.Combine(_folder, "seed-1", "vepa-steps.jsonl"));
        using var results = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(_folder, "results.json")));
        var seed = results.RootElement.GetProperty("Seeds")[0];
        int steps = results.RootElement.GetProperty("Options").GetProperty("VepaSteps").GetInt32();
        stepLog.Count(l => l.Length > 0).Should().Be(steps);
        seed.GetProperty("VepaCurve").GetArrayLength().Should().Be(steps);

        // Faithfulness is measured for both models' evidence, per family and overall, with shares in [0, 1].
        foreach (string model in new[] { "CaptionFaithfulness", "VepaFaithfulness" })
        {
            var overall = seed.GetProperty(model).GetProperty("overall");
            overall.GetProperty("Items").GetInt32().Should().BeGreaterThan(0);
            foreach (string measure in new[] { "HallucinationRate", "EchoRate", "FaithfulShare" })
            {
                overall.GetProperty(measure).GetDouble().Should().BeInRange(0, 1, $"{model}.{measure}");
            }
        }

        seed.GetProperty("VepaSftCorrupted").GetProperty("MaskedPatches").GetProperty("overall").GetArrayLength().Should().Be(5);

        // The VEPA stage raised the mean sufficiency reward: last tenth of the steps above the first tenth.
        double start = seed.GetProperty("RewardStart").GetDouble(), end = seed.GetProperty("RewardEnd").GetDouble();
        end.Should().BeGreaterThan(start + 0.05, $"the reward went from {start:0.000} to {end:0.000}");
    }

    [Fact]
    public async Task A_QA_set_smaller_than_one_SFT_batch_is_reshuffled_and_the_run_finishes()
    {
        // --sft-examples accepts 8, a quarter of the SFT batch of 32: the batch is filled by reshuffling the set again.
        var (exitCode, output) = await RunAsync(
            ["--seeds", "1", "--caption-steps", "20", "--vepa-steps", "2", "--prompts-per-step", "4", "--sft-examples", "8", "--sft-steps", "3", "--eval-items", "20", "--no-table3", "--out", _folder],
            TimeSpan.FromMinutes(3));
        exitCode.Should().Be(0, output);
        using var results = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(_folder, "results.json")));
        results.RootElement.GetProperty("Options").GetProperty("SftExamples").GetInt32().Should().Be(8);
        File.Exists(Path.Combine(_folder, "seed-1", "sft.pt")).Should().BeTrue();
        File.Exists(Path.Combine(_folder, "seed-1", "vepa-sft.pt")).Should().BeTrue();
    }

    [Fact]
    public async Task An_overlapped_VEPA_stage_finishes_trains_one_step_late_and_leaves_its_last_checkpoint()
    {
        var (exitCode, output) = await RunAsync(
            ["--seeds", "1", "--caption-steps", "20", "--vepa-steps", "3", "--prompts-per-step", "4", "--sft-examples", "8", "--sft-steps", "1", "--eval-items", "20", "--no-table3", "--overlap", "--out", _folder],
            TimeSpan.FromMinutes(3));
        exitCode.Should().Be(0, output);
        string[] stepLog = (await File.ReadAllLinesAsync(Path.Combine(_folder, "seed-1", "vepa-steps.jsonl"))).Where(l => l.Length > 0).ToArray();
        stepLog.Should().HaveCount(3);
        var lags = stepLog.Select(l => { using var d = JsonDocument.Parse(l); return d.RootElement.GetProperty("weight_version_lag").GetDouble(); }).ToArray();
        lags.Should().Equal([0.0, 1.0, 1.0], "step 1 is sampled in line; later batches were sampled one update earlier");
        Directory.EnumerateDirectories(Path.Combine(_folder, "seed-1", "checkpoints", "vepa"), "step-*").Select(Path.GetFileName).Should().Equal("step-00000003");
    }

    [Theory]
    [InlineData(2, "--bogus")]
    [InlineData(2, "--seeds", "0")]
    [InlineData(2, "--reader-endpoint", "http://127.0.0.1:9/v1")]
    public async Task Bad_options_exit_non_zero_before_training(int expected, params string[] args)
    {
        var (exitCode, output) = await RunAsync(args, TimeSpan.FromMinutes(1));
        exitCode.Should().Be(expected, output);
        output.Should().Contain("error:").And.NotContain("caption pretraining");
    }

    [Fact]
    public async Task An_unreachable_reader_endpoint_exits_non_zero_before_training()
    {
        // Port 9 (discard) on the loopback interface: nothing listens, the connection is refused.
        var (exitCode, output) = await RunAsync(["--reader-endpoint", "http://127.0.0.1:9/v1", "--reader-model", "m", "--out", _folder], TimeSpan.FromMinutes(2));
        exitCode.Should().Be(4, output);
        output.Should().Contain("did not answer a test question").And.NotContain("caption pretraining");
    }

    [Fact]
    public async Task An_unwritable_output_folder_exits_non_zero_before_training()
    {
        string file = Path.Combine(Path.GetTempPath(), "scene-vepa-not-a-folder-" + Guid.NewGuid().ToString("N"));
        await File.WriteAllTextAsync(file, "x");
        try
        {
            var (exitCode, output) = await RunAsync(["--out", Path.Combine(file, "report")], TimeSpan.FromMinutes(1));
            exitCode.Should().Be(3, output);
            output.Should().Contain("cannot be written");
        }
        finally
        {
            File.Delete(file);
        }
    }

    private static async Task<(int ExitCode, string Output)> RunAsync(IEnumerable<string> args, TimeSpan timeout)
    {
        string dll = Path.Combine(AppContext.BaseDirectory, "Vepa.Samples.SceneVepa.dll");
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(dll);
        foreach (string arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"The sample did not finish within {timeout}.");
        }

        return (process.ExitCode, await stdout + await stderr);
    }
}
