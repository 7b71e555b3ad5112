using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Engines;
using BenchmarkDotNet.Jobs;

namespace Vepa.Benchmarks.LogProbs;

/// <summary>
/// A short job for calls of 0.1 s to a minute (monitoring strategy: one warm-up and three measured calls, one process),
/// the ratio to the baseline taken per shape, plus the peak-native-memory columns.
/// </summary>
internal sealed class TokenLogProbBenchmarkConfig : ManualConfig
{
    public TokenLogProbBenchmarkConfig()
    {
        AddJob(Job.Default
            .WithStrategy(RunStrategy.Monitoring)
            .WithLaunchCount(1)
            .WithWarmupCount(1)
            .WithIterationCount(3)
            .WithId("Short"));
        AddLogicalGroupRules(BenchmarkLogicalGroupRule.ByParams);
        AddColumn(
            new PeakNativeMemoryColumn(training: false, ratio: false),
            new PeakNativeMemoryColumn(training: false, ratio: true),
            new PeakNativeMemoryColumn(training: true, ratio: false),
            new PeakNativeMemoryColumn(training: true, ratio: true));
    }
}
