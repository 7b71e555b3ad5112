using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;

namespace Vepa.Benchmarks;

/// <summary>
/// A short job (3 warm-ups, 10 iterations, 1 launch) with the memory diagnoser, so the policy-loss suites run in a few minutes.
/// A job given on the command line (<c>--job Dry</c>, <c>--job Short</c>, …) replaces it rather than running beside it.
/// </summary>
internal class PolicyLossBenchmarkConfig : ManualConfig
{
    public PolicyLossBenchmarkConfig()
    {
        AddDiagnoser(MemoryDiagnoser.Default);
        string[] args = Environment.GetCommandLineArgs();
        bool jobOnCommandLine = args.Any(a => a is "--job" or "-j" || a.StartsWith("--job=", StringComparison.Ordinal));
        if (!jobOnCommandLine)
        {
            AddJob(Job.ShortRun.WithIterationCount(10).WithId("Short10"));
        }
    }
}

/// <summary><see cref="PolicyLossBenchmarkConfig"/> plus the bandwidth columns of <see cref="MemoryBandwidthBenchmarks"/>.</summary>
internal sealed class MemoryBandwidthBenchmarkConfig : PolicyLossBenchmarkConfig
{
    public MemoryBandwidthBenchmarkConfig()
    {
        AddColumn(new BandwidthColumn(relativeToCopy: false), new BandwidthColumn(relativeToCopy: true));
    }
}
