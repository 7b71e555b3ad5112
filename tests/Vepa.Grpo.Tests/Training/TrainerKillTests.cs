using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using Xunit.Abstractions;

namespace Vepa.Grpo.Tests.Training;

/// <summary>
/// SIGKILL at random points of a step and of a checkpoint write: the folder always resumes to its last complete checkpoint,
/// bit-identical to an uninterrupted run, and no temporary folder survives the next start. The child process is this test
/// assembly run as a program (<see cref="KillHost"/>). VEPA_KILL_TRIALS sets the number of trials (default 2, one kill each, then a run to the end).
/// </summary>
[Collection("Sequential")]
public sealed class TrainerKillTests(ITestOutputHelper output)
{
    private const int Steps = 4;
    private const int KillsPerTrial = 1;
    // rng.safetensors is left out: LibTorch seeds its global generator per process and training never draws from it (sampling
    // and shuffles use generators seeded from (Seed, step)), so two uninterrupted runs already differ there.
    private static readonly string[] TensorFiles = ["policy.safetensors", "reference.safetensors", "optimizer.safetensors"];

    [Fact]
    public async Task A_run_killed_at_random_points_resumes_exactly_from_its_last_complete_checkpoint_and_leaves_nothing_behind()
    {
        int trials = int.TryParse(Environment.GetEnvironmentVariable("VEPA_KILL_TRIALS"), CultureInfo.InvariantCulture, out int n) ? n : 2;
        int seed = Environment.TickCount;
        var random = new Random(seed);
        using var folder = new TempFolder();
        string reference = Path.Combine(folder.Path, "reference");
        var (reached, duration, _) = await RunChildAsync(reference, keep: 100, killAfter: null);
        reached.Should().Be(Steps);
        var expected = Enumerable.Range(1, Steps).ToDictionary(s => s, s => Hashes(Path.Combine(reference, StepFolder(s))));
        int kills = 0, inWrite = 0, resumedSteps = 0;

        for (int trial = 0; trial < trials; trial++)
        {
            string run = Path.Combine(folder.Path, $"trial-{trial}");
            for (int k = 0; k < KillsPerTrial; k++)
            {
                // From the first step's report to the reference's end: steps 2.. and their checkpoint writes (the first step's write too).
                var delay = TimeSpan.FromMilliseconds(random.Next(0, (int)duration.TotalMilliseconds + 1));
                var (reachedStep, _, killed) = await RunChildAsync(run, keep: 2, killAfter: delay);
                output.WriteLine($"trial {trial}: {(killed ? "killed" : "finished before the kill")} {delay.TotalMilliseconds:F0} ms after its first step, having reported step {reachedStep}");
                kills += killed ? 1 : 0;
                if (Directory.Exists(run) && Directory.EnumerateDirectories(run, ".*").Any())
                {
                    inWrite++;
                }

                int last = CompleteSteps(run).DefaultIfEmpty(0).Max();
                foreach (int step in CompleteSteps(run))
                {
                    Hashes(Path.Combine(run, StepFolder(step))).Should().Equal(expected[step], $"trial {trial}, kill {k} after {delay}: step {step} is complete, so it must be exact");
                }

                int resumed = await ResumeInProcessAsync(run);
                resumed.Should().Be(last, $"trial {trial}, kill {k} after {delay}: the newest complete checkpoint is the one resumed");
                resumedSteps += resumed;
                if (Directory.Exists(run))
                {
                    Directory.EnumerateDirectories(run).Select(Path.GetFileName).Where(d => !d!.StartsWith("step-", StringComparison.Ordinal)).Should().BeEmpty("a start removes every temporary folder");
                }
            }

            (await RunChildAsync(run, keep: 2, killAfter: null)).Step.Should().Be(Steps);
            Hashes(Path.Combine(run, StepFolder(Steps))).Should().Equal(expected[Steps], $"trial {trial}: the resumed run ends bit-identical to the uninterrupted one");
            Directory.EnumerateDirectories(run).Select(Path.GetFileName).Order().Should().Equal(StepFolder(Steps - 1), StepFolder(Steps));
        }

        output.WriteLine($"seed {seed}: {kills} kills in {trials} trials, {inWrite} left a temporary folder (killed in a checkpoint write), resumed steps summed {resumedSteps}; uninterrupted training {duration.TotalSeconds:F1} s");
    }

    private static string StepFolder(int step) => $"step-{step:D8}";

    private static IEnumerable<int> CompleteSteps(string run)
        => !Directory.Exists(run) ? []
            : Directory.EnumerateDirectories(run, "step-*")
                .Where(d => File.Exists(Path.Combine(d, "trainer.json")))
                .Select(d => int.Parse(Path.GetFileName(d)["step-".Length..], CultureInfo.InvariantCulture));

    private static string[] Hashes(string checkpoint)
        => TensorFiles.Select(f => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(Path.Combine(checkpoint, f))))).ToArray();

    private static async Task<int> ResumeInProcessAsync(string run)
    {
        using var policy = new TorchPolicy(new TinyCausalModule(ToyTask.Vocabulary.Length, KillHost.Hidden, seed: 8), ToyTask.Tokenizer);
        using var trainer = new GrpoTrainer(policy, new ExactAnswerRewardModel(), KillHost.Options(run, Steps, keep: 2));
        return await trainer.TryResumeAsync(run) ? trainer.CompletedSteps : 0;
    }

    /// <summary>
    /// Runs the child; with <paramref name="killAfter"/>, kills it (SIGKILL) that long after it reported its first step (so the
    /// kill lands in a step or a checkpoint write, not in the start-up and the first step's JIT). Returns the last step the folder
    /// reached, how long the child ran after its first step, and whether it was killed (it may have finished first).
    /// </summary>
    private static async Task<(int Step, TimeSpan Training, bool Killed)> RunChildAsync(string folder, int keep, TimeSpan? killAfter)
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string arg in new[] { "exec", typeof(KillHost).Assembly.Location, KillHost.Command, folder, Steps.ToString(CultureInfo.InvariantCulture), keep.ToString(CultureInfo.InvariantCulture) })
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var firstStep = new TaskCompletionSource<Stopwatch>(TaskCreationOptions.RunContinuationsAsynchronously);
        bool killed = false;
        int last = 0;
        var reader = Task.Run(async () =>
        {
            while (await process.StandardOutput.ReadLineAsync() is { } line)
            {
                string[] parts = line.Trim().Split(' ');
                if (parts.Length == 2 && parts[0] is "step" or "resumed")
                {
                    last = Math.Max(last, int.Parse(parts[1], CultureInfo.InvariantCulture));
                    if (parts[0] == "step")
                    {
                        firstStep.TrySetResult(Stopwatch.StartNew());
                    }
                }
            }
        });
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(180));
        var exited = process.WaitForExitAsync(limit.Token);
        if (killAfter is TimeSpan delay && await Task.WhenAny(firstStep.Task, exited) == firstStep.Task)
        {
            if (await Task.WhenAny(Task.Delay(delay), exited) != exited)
            {
                process.Kill();   // SIGKILL on Linux: no finally blocks, no flushing
                killed = true;
            }
        }

        await exited;
        await reader;
        var training = firstStep.Task.IsCompleted ? (await firstStep.Task).Elapsed : TimeSpan.Zero;
        if (!killed && process.ExitCode != 0)
        {
            throw new InvalidOperationException($"The kill host failed ({process.ExitCode}): {await stderr}");
        }

        return (last, training, killed);
    }
}
