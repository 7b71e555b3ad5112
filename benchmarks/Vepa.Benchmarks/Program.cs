using System.Reflection;
using BenchmarkDotNet.Running;

// Run all suites:      dotnet run -c Release --project benchmarks/Vepa.Benchmarks -- --filter '*'
// Run one suite:       dotnet run -c Release --project benchmarks/Vepa.Benchmarks -- --filter '*PolicyLoss*'
// Kernel harness:      dotnet run -c Release --project benchmarks/Vepa.Benchmarks -- kernels --help
// Model loading memory: dotnet run -c Release --project benchmarks/Vepa.Benchmarks -- models-loadmem [FOLDER] [--dtype bfloat16]

// BenchmarkDotNet builds a generated project that does not import Directory.Build.targets. MSBuild reads environment
// variables as properties, so this hands the TorchSharp native-library fix to those child builds as well.
string? nativeFix = typeof(Program).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
    .FirstOrDefault(a => a.Key == "VepaTorchSharpNativeFixTargets")?.Value;
if (nativeFix is not null && File.Exists(nativeFix)
    && string.IsNullOrEmpty(Environment.GetEnvironmentVariable("CustomAfterMicrosoftCommonTargets")))
{
    Environment.SetEnvironmentVariable("CustomAfterMicrosoftCommonTargets", nativeFix);
}

if (args.Length > 0 && args[0] == "kernels")
{
    // The correctness-gated kernel harness (docs/benchmarks.md, "Kernel harness"); BenchmarkDotNet runs in process there.
    return Vepa.Benchmarks.Kernels.KernelHarness.Run(args[1..]);
}

if (args.Length > 0 && args[0] == "models-loadmem")
{
    // Peak host memory while loading a sharded snapshot (docs/benchmarks.md, "Models"); a child process per measurement.
    return Vepa.Benchmarks.Models.QwenLoadMemory.Run(args[1..]);
}

// The harness's in-process class has no cases outside a 'kernels' run, so the switcher does not offer it.
Type[] suites = typeof(Program).Assembly.GetExportedTypes()
    .Where(t => t != typeof(Vepa.Benchmarks.Kernels.KernelTimingBenchmarks)
        && t.GetMethods().Any(m => m.IsDefined(typeof(BenchmarkDotNet.Attributes.BenchmarkAttribute), inherit: false)))
    .ToArray();
BenchmarkSwitcher.FromTypes(suites).Run(args);
return 0;
