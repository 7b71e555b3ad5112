using BenchmarkDotNet.Running;

// Run all suites:      dotnet run -c Release --project benchmarks/Vepa.Benchmarks -- --filter '*'
// Run one suite:       dotnet run -c Release --project benchmarks/Vepa.Benchmarks -- --filter '*PolicyLoss*'
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
