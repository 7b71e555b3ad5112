using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Engines;
using BenchmarkDotNet.Jobs;

namespace Vepa.Benchmarks.Trainer;

/// <summary>A short job for calls of 10 ms to a few seconds: three warm-up and fifteen measured calls in one process.</summary>
internal sealed class TrainerStepBenchmarkConfig : ManualConfig
{
    public TrainerStepBenchmarkConfig()
    {
        AddJob(Job.Default
            .WithStrategy(RunStrategy.Monitoring)
            .WithLaunchCount(1)
            .WithWarmupCount(3)
            .WithIterationCount(15)
            .WithId("Short"));
    }
}
