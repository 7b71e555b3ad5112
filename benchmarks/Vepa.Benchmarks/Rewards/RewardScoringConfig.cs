using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Engines;
using BenchmarkDotNet.Jobs;

namespace Vepa.Benchmarks.Rewards;

/// <summary>
/// One scoring batch takes seconds (about 26 s at concurrency 1), so each iteration is one batch: no pilot, one warm-up
/// batch (opens connections, JIT), three measured batches, one process.
/// </summary>
/// <remarks>
/// A job given on the command line (<c>--job Dry</c>, <c>--job short</c>, …) replaces this one instead of running next to it,
/// so that <c>--job Dry</c> stays a quick check (BenchmarkDotNet would otherwise run both jobs).
/// </remarks>
public sealed class RewardScoringConfig : ManualConfig
{
    /// <summary>Initializes a new instance of the <see cref="RewardScoringConfig"/> class.</summary>
    public RewardScoringConfig()
    {
        if (!JobGivenOnCommandLine())
        {
            AddJob(Job.Default
                .WithStrategy(RunStrategy.Monitoring)
                .WithLaunchCount(1)
                .WithWarmupCount(1)
                .WithIterationCount(3)
                .WithInvocationCount(1)
                .WithUnrollFactor(1)
                .WithId("OneBatchPerIteration"));
        }

        AddColumn(new RolloutThroughputColumn(), new SpeedupOverSequentialColumn());

        // BenchmarkDotNet's Ratio compares methods within one set of [Params]; the speed-up column compares across Concurrency instead.
        HideColumns(Column.Ratio, Column.RatioSD, Column.AllocRatio);
    }

    private static bool JobGivenOnCommandLine() => Environment.GetCommandLineArgs()
        .Any(arg => arg is "--job" or "-j" || arg.StartsWith("--job=", StringComparison.Ordinal));
}
