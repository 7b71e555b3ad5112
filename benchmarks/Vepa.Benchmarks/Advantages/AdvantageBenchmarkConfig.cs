using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;

namespace Vepa.Benchmarks;

/// <summary>
/// A short job (3 warm-ups, 5 iterations, 1 launch) with the memory diagnoser, so the whole advantage suite runs in a few minutes.
/// A job given on the command line (<c>--job Dry</c>, <c>--job Short</c>, …) replaces it rather than running beside it.
/// </summary>
internal sealed class AdvantageBenchmarkConfig : ManualConfig
{
    public AdvantageBenchmarkConfig()
    {
        AddDiagnoser(MemoryDiagnoser.Default);
        string[] args = Environment.GetCommandLineArgs();
        bool jobOnCommandLine = args.Any(a => a is "--job" or "-j" || a.StartsWith("--job=", StringComparison.Ordinal));
        if (!jobOnCommandLine)
        {
            AddJob(Job.ShortRun.WithIterationCount(5).WithId("Short5"));
        }
    }
}
