using System.Diagnostics;
using System.Globalization;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Exporters;
using BenchmarkDotNet.Exporters.Csv;
using BenchmarkDotNet.Exporters.Json;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Loggers;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using TorchSharp;
using Vepa.Benchmarks.LogProbs;
using Vepa.Grpo;
using Vepa.Grpo.Kernels;
using static TorchSharp.torch;

namespace Vepa.Benchmarks.Kernels;

/// <summary>
/// The <c>kernels</c> command: correctness gate first, then BenchmarkDotNet timings of the kernels that passed, then the
/// roofline columns, exports and the comparison with a previous run. See <see cref="KernelHarnessOptions.Help"/>.
/// </summary>
internal static class KernelHarness
{
    private const long StreamingThresholdBytes = 64_000_000;

    public static int Run(IReadOnlyList<string> args)
    {
        KernelHarnessOptions o;
        try
        {
            o = KernelHarnessOptions.Parse(args);
            foreach (string shape in o.Shapes ?? [])
            {
                KernelHarnessOptions.ParsePair(shape);
            }
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine(e.Message);
            return 1;
        }

        if (o.ShowHelp)
        {
            Console.WriteLine(KernelHarnessOptions.Help);
            return 0;
        }

        if (o.Device == "cuda" && !cuda.is_available())
        {
            Console.Error.WriteLine("--device cuda: the loaded LibTorch has no CUDA device (install TorchSharp-cuda-linux, or bind a CUDA LibTorch; see tools/Vepa.GpuCheck).");
            return 1;
        }

        Device device = o.Device == "cuda" ? CUDA : CPU;
        var registry = KernelRegistry.CreateDefault();
        var reference = new ReferencePolicyLossKernel();
        registry.Add(reference).Add(new PlainTokenLogProbKernel()).Add(new MatmulCompositionKernel());
        UserKernels.Register(registry);

        bool Selected(string group, string name) => o.Filters.Any(f => f == group || string.Equals(f, name, StringComparison.OrdinalIgnoreCase));
        var loss = registry.PolicyLossKernels.Where(k => Selected("loss", k.Name)).ToList();
        var logProbs = registry.TokenLogProbKernels.Where(k => Selected("logprobs", k.Name)).ToList();
        var linear = registry.LinearPolicyLossKernels.Where(k => Selected("linear", k.Name)).ToList();
        var advantages = registry.AdvantageKernels.Where(k => Selected("advantages", k.Name)).ToList();
        if (loss.Count + logProbs.Count + linear.Count + advantages.Count == 0)
        {
            Console.Error.WriteLine($"--filter {string.Join(',', o.Filters)} selects no kernel. Groups: loss, logprobs, linear, advantages. Kernels: {string.Join(", ", registry.PolicyLossKernels.Select(k => k.Name).Concat(registry.TokenLogProbKernels.Select(k => k.Name)).Concat(registry.LinearPolicyLossKernels.Select(k => k.Name)).Concat(registry.AdvantageKernels.Select(k => k.Name)))}.");
            return 1;
        }

        // 1. The gate. A kernel that fails is reported with its first mismatching case and is not timed.
        int exit = 0;
        var gateOptions = new KernelGateOptions { Device = device };
        Console.WriteLine("// Correctness gate (float64, float32, bf16; every variant of docs/kernels.md; awkward shapes)");
        loss = loss.Where(k => Gate(k.Name, k == reference ? null : KernelGate.CheckPolicyLoss(k, reference, gateOptions), ref exit)).ToList();
        logProbs = logProbs.Where(k => Gate(k.Name, KernelGate.CheckTokenLogProbs(k, gateOptions), ref exit)).ToList();
        linear = linear.Where(k => Gate(k.Name, KernelGate.CheckLinearPolicyLoss(k, reference, gateOptions), ref exit)).ToList();
        advantages = advantages.Where(k => Gate(k.Name, KernelGate.CheckAdvantages(k, gateOptions), ref exit)).ToList();
        if (o.GateOnly)
        {
            return exit;
        }

        // 2. The cases, each a real training path: forward, gradient through autograd, disposal, device sync.
        KernelHarnessState.Cases.Clear();
        string dtypeName = o.Dtype switch { ScalarType.BFloat16 => "bf16", ScalarType.Float64 => "float64", _ => "float32" };
        int elementSize = o.Dtype switch { ScalarType.Float64 => 8, ScalarType.BFloat16 => 2, _ => 4 };
        foreach (string shape in loss.Count > 0 ? o.Shapes ?? ["64x1024"] : [])
        {
            var (b, t) = KernelHarnessOptions.ParsePair(shape);
            var inputs = LossInputs(b, t, o.Dtype, device);
            var options = new PolicyLossOptions { Beta = 0.01, KlEstimator = KlEstimator.K3 };
            long bytes = (((4L * elementSize) + 1) * b * t) + (elementSize * b);
            foreach (var kernel in loss)
            {
                if (!kernel.Supports(inputs, options, out string? why))
                {
                    Console.WriteLine($"// {kernel.Name} skips {shape}: {why}");
                    continue;
                }

                Add(new KernelCase("loss", kernel.Name, shape, dtypeName, bytes, 20.0 * b * t, () =>
                {
                    using var scope = NewDisposeScope();
                    using var result = kernel.Compute(inputs, options);
                    _ = autograd.grad([result.Loss], [inputs.LogProbs]);
                    Sync(device);
                }));
            }
        }

        foreach (string shape in logProbs.Count > 0 ? o.Shapes ?? ["2048x32768"] : [])
        {
            var (n, v) = KernelHarnessOptions.ParsePair(shape);
            using var generator = new Generator(7UL, CPU);
            var leaf = randn([1, n, v], generator: generator).mul_(3f).to(o.Dtype).to(device).requires_grad_();
            var targets = randint(v, [1, n], ScalarType.Int64, generator: generator).to(device);
            var upstream = randn([1, n], generator: generator).to(device);
            long bytes = (2L * elementSize * n * v) + (8L * n);
            foreach (var kernel in logProbs)
            {
                Add(new KernelCase("logprobs", kernel.Name, shape, dtypeName, bytes, 6.0 * n * v, () =>
                {
                    using var scope = NewDisposeScope();
                    var logits = leaf.mul(1.0); // the LM head's output: an intermediate (the overwriting kernel needs one)
                    var lp = kernel.Compute(logits, targets, 1.0);
                    _ = autograd.grad([(lp * upstream).sum()], [leaf]);
                    Sync(device);
                }));
            }
        }

        // The linear group: hidden [B, T, 1024] and an LM head [32768, 1024], gradients to both.
        foreach (string shape in linear.Count > 0 ? o.Shapes ?? ["2x1024"] : [])
        {
            const int hiddenSize = 1024;
            const int vocabulary = 32768;
            var (b, t) = KernelHarnessOptions.ParsePair(shape);
            using var generator = new Generator(11UL, CPU);
            var hidden = randn([b, t, hiddenSize], generator: generator).to(o.Dtype).to(device).requires_grad_();
            var weight = randn([vocabulary, hiddenSize], generator: generator).mul_(0.0625f).to(o.Dtype).to(device).requires_grad_();
            var cpu = PolicyLossBenchmarkData.Create((int)b, (int)t, seed: 20261128);
            var inputs = new FusedLinearPolicyLossInputs
            {
                Hidden = hidden,
                Weight = weight,
                Targets = randint(vocabulary, [b, t], ScalarType.Int64, generator: generator).to(device),
                Advantages = cpu.Advantages.to(device),
                Mask = cpu.Mask.to(device),
                OldLogProbs = (cpu.OldLogProbs! - 8.0).to(device),
                ReferenceLogProbs = (cpu.ReferenceLogProbs! - 8.0).to(device),
            };
            var options = new PolicyLossOptions { Beta = 0.01, KlEstimator = KlEstimator.K3 };
            long bytes = elementSize * ((2L * b * t * hiddenSize) + (2L * vocabulary * hiddenSize));
            foreach (var kernel in linear)
            {
                Add(new KernelCase("linear", kernel.Name, shape, dtypeName, bytes, 6.0 * b * t * vocabulary * hiddenSize, () =>
                {
                    using var scope = NewDisposeScope();
                    using var result = kernel.Compute(inputs, options);
                    _ = autograd.grad([result.Loss], [hidden, weight]);
                    Sync(device);
                }));
            }
        }

        // The advantages group: rewards [P, G] (Gaussian, every 7th reward NaN), group-std advantages; no gradient.
        foreach (string shape in advantages.Count > 0 ? o.Shapes ?? ["4096x16"] : [])
        {
            var (p, g) = KernelHarnessOptions.ParsePair(shape);
            using var generator = new Generator(11UL, CPU);
            var cpuRewards = randn([p, g], ScalarType.Float64, generator: generator);
            cpuRewards.view(-1)[TensorIndex.Slice(0, null, 7)] = double.NaN;
            var rewards = cpuRewards.to(o.Dtype).to(device);
            var options = new AdvantageOptions();
            long bytes = 2L * elementSize * p * g;
            foreach (var kernel in advantages)
            {
                try
                {
                    using var scope = NewDisposeScope();
                    _ = kernel.Compute(rewards, options);
                }
                catch (Exception e) when (e is ArgumentException or NotSupportedException or InvalidOperationException)
                {
                    Console.WriteLine($"// {kernel.Name} skips {shape}: {e.Message}");
                    continue;
                }

                Add(new KernelCase("advantages", kernel.Name, shape, dtypeName, bytes, 8.0 * p * g, () =>
                {
                    using var scope = NewDisposeScope();
                    _ = kernel.Compute(rewards, options);
                    Sync(device);
                }));
            }
        }

        // 3. Peak native memory of one call (CPU), then the streaming bandwidth of this machine, then BenchmarkDotNet.
        var peaks = new Dictionary<string, long?>();
        foreach (var c in KernelHarnessState.Cases.Values)
        {
            c.Run();
            PeakNativeMemory.BeginExactAccounting();
            peaks[c.Key] = device.type == DeviceType.CPU ? PeakNativeMemory.Measure(c.Run) : null;
            PeakNativeMemory.EndExactAccounting();
        }

        double streaming = StreamingBandwidth(device);
        var job = Job.Default.WithToolchain(InProcessEmitToolchain.Instance).WithLaunchCount(1).WithWarmupCount(2).WithIterationCount(o.Iterations).WithId("Kernels");
        var config = ManualConfig.CreateEmpty().AddJob(job).AddLogger(ConsoleLogger.Default)
            .AddExporter(MarkdownExporter.GitHub, JsonExporter.Full, CsvExporter.Default)
            .WithArtifactsPath(Path.Combine(o.Out, "BenchmarkDotNet"))
            .WithOptions(ConfigOptions.DisableOptimizationsValidator);
        var summary = BenchmarkRunner.Run<KernelTimingBenchmarks>(config);

        var measured = new Dictionary<string, (double Mean, double StdDev)>();
        foreach (var report in summary.Reports)
        {
            string key = report.BenchmarkCase.Parameters["Case"]?.ToString() ?? "";
            if (report.ResultStatistics is { } s)
            {
                measured[key] = (s.Mean, s.StandardDeviation);
            }
        }

        var rows = new List<KernelResultRow>();
        foreach (var c in KernelHarnessState.Cases.Values.Where(c => measured.ContainsKey(c.Key)))
        {
            var (mean, sd) = measured[c.Key];
            string baseline = o.Baseline ?? c.Group switch { "loss" => "reference", "linear" => "matmul-composition", "advantages" => "tensor", _ => "plain" };
            string baselineKey = $"{c.Group}/{baseline}/{c.Shape}";
            double? ratio = measured.TryGetValue(baselineKey, out var b) ? mean / b.Mean : null;
            double bytesPerSecond = c.Bytes / (mean * 1e-9);
            rows.Add(new KernelResultRow(c.Group, c.Kernel, c.Shape, c.Dtype, o.Device, mean, sd, ratio, bytesPerSecond, c.Flops / (mean * 1e-9),
                c.Bytes >= StreamingThresholdBytes ? bytesPerSecond / streaming : null, peaks[c.Key]));
        }

        var results = new KernelResults(Machine(o.Device), streaming, rows);
        results.Export(o.Out);
        Console.WriteLine();
        Console.WriteLine(results.ToMarkdown());
        Console.WriteLine($"// Exported {Path.Combine(o.Out, "results.md")}, results.json, results.csv (and BenchmarkDotNet's reports under {Path.Combine(o.Out, "BenchmarkDotNet")}).");

        if (o.Compare is string previousPath)
        {
            var regressions = results.Regressions(KernelResults.Load(previousPath), o.Threshold);
            foreach (string r in regressions)
            {
                Console.WriteLine($"REGRESSION {r}");
            }

            if (regressions.Count > 0 && exit == 0)
            {
                exit = 3;
            }

            Console.WriteLine($"// Compared with {previousPath}: {regressions.Count} regression(s) beyond {o.Threshold.ToString("P0", CultureInfo.InvariantCulture)}.");
        }

        return exit;

        static void Add(KernelCase c) => KernelHarnessState.Cases[c.Key] = c;
    }

    private static bool Gate(string name, KernelGateReport? report, ref int exit)
    {
        if (report is null)
        {
            Console.WriteLine($"//   {name}: the gate's reference");
            return true;
        }

        if (report.Passed)
        {
            Console.WriteLine($"//   {name}: passed {report.CasesRun} case(s){(report.CasesSkipped > 0 ? $", {report.CasesSkipped} unsupported case(s) skipped" : "")}");
            return true;
        }

        Console.WriteLine($"//   {name}: FAILED, not timed. First mismatch: {report.FirstMismatch ?? "no case ran"}");
        exit = 2;
        return false;
    }

    private static PolicyLossInputs LossInputs(long b, long t, ScalarType dtype, Device device)
    {
        var cpu = PolicyLossBenchmarkData.Create((int)b, (int)t, seed: 20261128);
        return new PolicyLossInputs
        {
            LogProbs = cpu.LogProbs.detach().to(dtype).to(device).requires_grad_(),
            Advantages = cpu.Advantages.to(dtype).to(device),
            Mask = cpu.Mask.to(device),
            OldLogProbs = cpu.OldLogProbs!.to(dtype).to(device),
            ReferenceLogProbs = cpu.ReferenceLogProbs!.to(dtype).to(device),
        };
    }

    private static void Sync(Device device)
    {
        if (device.type == DeviceType.CUDA)
        {
            cuda.synchronize();
        }
    }

    // The streaming reference: a 256 MiB float32 copy on the device (reads and writes 256 MiB), best of five.
    private static double StreamingBandwidth(Device device)
    {
        using var scope = NewDisposeScope();
        var source = rand(64L * 1024 * 1024, device: device);
        var destination = zeros(64L * 1024 * 1024, device: device);
        double best = double.MaxValue;
        for (int i = 0; i < 6; i++)
        {
            var watch = Stopwatch.StartNew();
            destination.copy_(source);
            Sync(device);
            if (i > 0)
            {
                best = Math.Min(best, watch.Elapsed.TotalSeconds);
            }
        }

        return 2.0 * 256 * 1024 * 1024 / best;
    }

    private static string Machine(string device)
    {
        string cpu = File.Exists("/proc/cpuinfo")
            ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown CPU"
            : "unknown CPU";
        return $"{cpu}, {Environment.ProcessorCount} logical cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}; device {device}";
    }
}
