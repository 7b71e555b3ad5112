using System.Reflection;
using BenchmarkDotNet.Running;

// Run all suites:      dotnet run -c Release --project benchmarks/Vepa.Benchmarks -- --filter '*'
// Run one suite:       dotnet run -c Release --project benchmarks/Vepa.Benchmarks -- --filter '*PolicyLoss*'

// BenchmarkDotNet builds a generated project that does not import Directory.Build.targets. MSBuild reads environment
// variables as properties, so this hands the TorchSharp native-library fix to those child builds as well.
string? nativeFix = typeof(Program).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
    .FirstOrDefault(a => a.Key == "VepaTorchSharpNativeFixTargets")?.Value;
if (nativeFix is not null && File.Exists(nativeFix)
    && string.IsNullOrEmpty(Environment.GetEnvironmentVariable("CustomAfterMicrosoftCommonTargets")))
{
    Environment.SetEnvironmentVariable("CustomAfterMicrosoftCommonTargets", nativeFix);
}

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
