using System.Diagnostics;
using System.Globalization;
using System.Text;
using TorchSharp;
using Vepa.Grpo;
using Vepa.Grpo.Cuda;
using Vepa.Grpo.Kernels;
using static TorchSharp.torch;

/// <summary>
/// The fused CUDA kernels on the GPU machine: compile every module (errors reported per kernel, the rest continues), the
/// correctness gate per contract and dtype, the device's copy bandwidth, timings against the composed tensor kernels and
/// the bandwidth floor, and the memory the caching allocator reserves per path. `Vepa.GpuCheck cuda-kernels` (GPU) or
/// `Vepa.GpuCheck cpu-kernels` (CPU: the fallback path, small sizes).
/// </summary>
internal static class CudaKernelCheck
{
    private static readonly StringBuilder Report = new();

    public static int Run(bool onGpu)
    {
        Device dev = onGpu ? CUDA : CPU;
        int failures = 0;
        var rt = CudaRuntime.Instance;
        bool available = rt.IsAvailable(out string? why);
        Say($"CUDA kernels available: {available}{(why is null ? string.Empty : " (" + why + ")")}");
        if (onGpu && !available)
        {
            return 2;
        }

        if (available)
        {
            Say($"NVRTC {rt.NvrtcVersion} from {CudaNative.NvrtcPath}; driver CUDA {rt.DriverVersion}; {rt.Architecture(0)}, {rt.MultiprocessorCount(0)} SMs; cache {rt.Cache.Folder}");
            var sw = Stopwatch.StartNew();
            foreach (var (file, kernels, defineSets) in Modules())
            {
                foreach (string[] defines in defineSets)
                {
                    foreach (string kernel in kernels)
                    {
                        try
                        {
                            rt.Function(0, file, kernel, defines);
                        }
                        catch (Exception e)
                        {
                            failures++;
                            Say($"FAIL compile {file} {kernel} [{string.Join(' ', defines)}]: {e.Message}");
                        }
                    }
                }
            }

            Say($"modules ready in {sw.Elapsed.TotalSeconds:F1} s: {rt.Compilations} compiled, {rt.CacheHits} from the disk cache");
        }

        var registry = KernelRegistry.CreateDefault();
        var cudaLoss = registry.PolicyLossKernels.Single(k => k.Name == "cuda");
        var fusedTensor = registry.PolicyLossKernels.Single(k => k.Name == "fused-tensor");
        var cudaTok = registry.TokenLogProbKernels.Single(k => k.Name == "cuda");
        var cudaTokOverwrite = registry.TokenLogProbKernels.Single(k => k.Name == "cuda-overwriting");
        var cudaAdv = registry.AdvantageKernels.Single(k => k.Name == "cuda");

        // ---- The gate, per contract and dtype; on the GPU the launch counter proves the CUDA path ran (no fallback).
        foreach (var dtype in new[] { ScalarType.Float64, ScalarType.Float32, ScalarType.BFloat16 })
        {
            var options = new KernelGateOptions { Device = dev, Dtypes = [dtype] };
            failures += Gate($"policy loss cuda {dtype}", onGpu, () => KernelGate.CheckPolicyLoss(cudaLoss, new GateReference(), options));
            failures += Gate($"token log-probs cuda {dtype}", onGpu, () => KernelGate.CheckTokenLogProbs(cudaTok, options));
            failures += Gate($"token log-probs cuda-overwriting {dtype}", onGpu, () => KernelGate.CheckTokenLogProbs(cudaTokOverwrite, options));
            if (dtype != ScalarType.BFloat16)
            {
                failures += Gate($"advantages cuda {dtype}", onGpu, () => KernelGate.CheckAdvantages(cudaAdv, options));
            }
        }

        // The automatic choice goes to the CUDA kernel on CUDA inputs.
        if (onGpu)
        {
            using var scope = NewDisposeScope();
            var inp = PolicyInputs(4, 33, ScalarType.Float32, dev, 3);
            long before = rt.Launches;
            using var r = PolicyLoss.Compute(inp, new PolicyLossOptions { Beta = 0.01 });
            bool ok = rt.Launches > before;
            failures += ok ? 0 : 1;
            Say($"{(ok ? "ok  " : "FAIL")} PolicyLoss.Compute (automatic choice) on CUDA inputs ran the CUDA kernel ({rt.Launches - before} launches)");

            // And by its registered name.
            before = rt.Launches;
            using var named = PolicyLoss.Compute(inp, new PolicyLossOptions { Beta = 0.01, Kernel = "cuda" });
            ok = rt.Launches > before;
            failures += ok ? 0 : 1;
            Say($"{(ok ? "ok  " : "FAIL")} PolicyLoss.Compute (Kernel = \"cuda\") on CUDA inputs ran the CUDA kernel ({rt.Launches - before} launches)");
        }

        foreach (var (key, message) in CudaKernelChoice.Choices)
        {
            Say($"choice logged once: {key}: {message}");
        }

        // ---- Bandwidth floor: a device-to-device copy (bytes read + bytes written).
        double bandwidth = double.NaN;
        {
            using var scope = NewDisposeScope();
            long n = onGpu ? 256L << 20 : 4L << 20;
            var a = randn([n], ScalarType.Float32, dev);
            var b = empty_like(a);
            double ms = Time(onGpu, () => b.copy_(a), warm: 3, iters: 20);
            bandwidth = 2.0 * n * 4 / (ms * 1e-3);
            Say($"copy bandwidth: {bandwidth / 1e12:F3} TB/s ({n * 4 / (1 << 20)} MiB copied in {ms * 1e3:F1} us)");
        }

        // ---- Policy loss from log-probs: forward + backward, the CUDA kernel (with and without the statistics' host copy)
        // against the composed tensor kernel ("fused-tensor").
        var vepa = new PolicyLossOptions { Beta = 0.01 };
        var shapes = onGpu ? new[] { (64, 1024), (256, 4096) } : new[] { (8, 64) };
        foreach (var (b, t) in shapes)
        {
            foreach (var dtype in new[] { ScalarType.Float32, ScalarType.BFloat16 })
            {
                try
                {
                using var scope = NewDisposeScope();
                var inp = PolicyInputs(b, t, dtype, dev, 7);
                var leaf = inp.LogProbs;
                double composed = Time(onGpu, () => { using var s = NewDisposeScope(); using var r = fusedTensor.Compute(inp, vepa); autograd.grad([r.Loss], [leaf]); });
                double full = Time(onGpu, () => { using var s = NewDisposeScope(); using var r = cudaLoss.Compute(inp, vepa); autograd.grad([r.Loss], [leaf]); });
                double kernels = double.NaN;
                if (onGpu)
                {
                    kernels = Time(onGpu, () =>
                    {
                        using var s = NewDisposeScope();
                        var call = new FusedPolicyLossCall(inp, vepa, needsGradient: true);
                        var loss = CudaPolicyLossFunction.apply(leaf, call);
                        autograd.grad([loss], [leaf]);
                    });
                }

                int elt = dtype == ScalarType.Float32 ? 4 : 2;
                double bytes = (double)b * t * ((3 * elt) + 1 + 4 + 4 + elt);
                double floor = bytes / bandwidth * 1e3;
                Say($"time policy loss {b}x{t} {dtype}: composed (fused-tensor) {composed:F4} ms; cuda {full:F4} ms (x{composed / full:F2}); cuda kernels without the statistics copy {kernels:F4} ms (x{composed / kernels:F2}); floor {floor * 1e3:F2} us ({bytes / 1e6:F1} MB); cuda / floor {full / floor:F1}, kernels / floor {kernels / floor:F1}");
                }
                catch (Exception e)
                {
                    failures++;
                    Say($"FAIL time policy loss {b}x{t} {dtype}: {e}");
                }
            }
        }

        // ---- Group advantages.
        foreach (var (p, g) in onGpu ? new[] { (256, 8), (4096, 16) } : new[] { (64, 8) })
        {
            using var scope = NewDisposeScope();
            var rewards = randn([p, g], ScalarType.Float32, dev);
            var tensorKernel = registry.AdvantageKernels.Single(k => k.Name == "tensor");
            var o = new AdvantageOptions();
            double composed = Time(onGpu, () => { using var s = NewDisposeScope(); tensorKernel.Compute(rewards, o); });
            double cuda = Time(onGpu, () => { using var s = NewDisposeScope(); cudaAdv.Compute(rewards, o); });
            Say($"time advantages {p}x{g} float32 group-std: tensor {composed:F4} ms, cuda {cuda:F4} ms (x{composed / cuda:F2})");
        }

        // ---- The loss from logits at a Qwen-sized vocabulary: token log-probs + policy loss, forward + backward to the logits.
        foreach (var dtype in new[] { ScalarType.Float32, ScalarType.BFloat16 })
        {
            int bb = onGpu ? 4 : 2, tt = onGpu ? 1024 : 8, v = onGpu ? 151936 : 1000;
            using var scope = NewDisposeScope();
            var inp = PolicyInputs(bb, tt, ScalarType.Float32, dev, 9);
            var logits = (randn([bb, tt, v], ScalarType.Float32, dev) * 2).to(dtype).requires_grad_();
            var targets = randint(v, [bb, tt], ScalarType.Int64, dev);
            PolicyLossInputs With(Tensor lp) => inp with { LogProbs = lp };
            long Reserved() => onGpu ? rt.MemoryInfo(0).Total - rt.MemoryInfo(0).Free : 0;
            if (onGpu)
            {
                cuda.synchronize();
            }

            long baseline = Reserved();
            var results = new List<string>();
            double Path(string name, Action step)
            {
                try
                {
                    double ms = Time(onGpu, step, warm: 2, iters: 5);
                    results.Add($"{name} {ms:F3} ms, reserved {(Reserved() - baseline) / (double)(1 << 20):F0} MiB above the inputs");
                    return ms;
                }
                catch (Exception e)
                {
                    failures++;
                    results.Add($"{name} FAILED: {e.GetType().Name}: {e.Message}");
                    return double.NaN;
                }
            }

            // The overwriting path destroys its logits, so each call starts from a fresh copy (one extra read + write of the logits, included).
            double overwrite = Path("cuda-overwriting + cuda loss (+ a fresh copy of the logits)", () => { using var s = NewDisposeScope(); var work = logits.detach().clone().requires_grad_(); using var r = cudaLoss.Compute(With(cudaTokOverwrite.Compute(work, targets, 1.0)), vepa); autograd.grad([r.Loss], [work]); });
            double cudaPath = Path("cuda + cuda loss", () => { using var s = NewDisposeScope(); using var r = cudaLoss.Compute(With(cudaTok.Compute(logits, targets, 1.0)), vepa); autograd.grad([r.Loss], [logits]); });
            double chunked = Path("chunked + fused-tensor", () => { using var s = NewDisposeScope(); using var r = fusedTensor.Compute(With(TokenLogProbs.FromLogits(logits, targets)), vepa); autograd.grad([r.Loss], [logits]); });
            double plain = Path("plain log_softmax+gather + fused-tensor", () => { using var s = NewDisposeScope(); var lp = logits.to(ScalarType.Float32).log_softmax(-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1); using var r = fusedTensor.Compute(With(lp), vepa); autograd.grad([r.Loss], [logits]); });
            int elt = dtype == ScalarType.Float32 ? 4 : 2;
            double floor = 3.0 * bb * tt * v * elt / bandwidth * 1e3;
            Say($"time loss from logits {bb}x{tt}xV{v} {dtype}: {string.Join("; ", results)}; floor {floor:F3} ms; speed-up of cuda over chunked x{chunked / cudaPath:F2}, over plain x{plain / cudaPath:F2}; overwriting over plain x{plain / overwrite:F2}; cuda / floor {cudaPath / floor:F2}");
        }

        Say(failures == 0 ? "CUDA KERNELS ALL OK" : $"CUDA KERNELS: {failures} FAILURES");
        string? outDir = Environment.GetEnvironmentVariable("OUT");
        if (!string.IsNullOrEmpty(outDir) && Directory.Exists(outDir))
        {
            File.WriteAllText(Path.Combine(outDir, "cuda-kernels.txt"), Report.ToString());
        }

        return failures == 0 ? 0 : 1;
    }

    private static IEnumerable<(string File, string[] Kernels, IEnumerable<string[]> Defines)> Modules()
    {
        int[] scalars = [0, 1, 2];
        yield return (CudaSources.PolicyLoss, ["vepa_policy_rows", "vepa_policy_finish", "vepa_policy_backward"],
            scalars.SelectMany(s => new[] { 0, 1 }.Select(m => new[] { $"VEPA_SCALAR={s}", $"VEPA_MASK={m}" })));
        yield return (CudaSources.TokenLogProbs, ["vepa_logprob_forward", "vepa_logprob_backward"], scalars.Select(s => new[] { $"VEPA_SCALAR={s}" }));
        yield return (CudaSources.Advantages, ["vepa_adv_batch", "vepa_adv_groups"], scalars.Select(s => new[] { $"VEPA_SCALAR={s}" }));
    }

    private static int Gate(string what, bool onGpu, Func<KernelGateReport> run)
    {
        long before = CudaRuntime.Instance.IsAvailable(out _) ? CudaRuntime.Instance.Launches : 0;
        try
        {
            var sw = Stopwatch.StartNew();
            var report = run();
            long launches = (CudaRuntime.Instance.IsAvailable(out _) ? CudaRuntime.Instance.Launches : 0) - before;
            bool ok = report.Passed && (!onGpu || launches > 0);
            Say($"{(ok ? "ok  " : "FAIL")} gate {what}: {report.CasesRun} cases, {report.CasesSkipped} skipped, {launches} CUDA launches, {sw.Elapsed.TotalSeconds:F1} s{(report.FirstMismatch is null ? string.Empty : ", first mismatch " + report.FirstMismatch)}");
            return ok ? 0 : 1;
        }
        catch (Exception e)
        {
            Say($"FAIL gate {what}: threw {e}");
            return 1;
        }
    }

    private static PolicyLossInputs PolicyInputs(int b, int t, ScalarType dtype, Device dev, int seed)
    {
        var g = new Generator((ulong)seed);
        var lp = (rand([b, t], ScalarType.Float64, generator: g) * -2.45) - 0.05;
        var old = lp + (randn([b, t], ScalarType.Float64, generator: g) * 0.3);
        var reference = lp + (randn([b, t], ScalarType.Float64, generator: g) * 0.4);
        var sampler = old + (randn([b, t], ScalarType.Float64, generator: g) * 0.3);
        var lengths = randint(t / 2, t + 1, [b, 1], ScalarType.Int64, generator: g);
        var mask = arange(t, ScalarType.Int64).unsqueeze(0).lt(lengths);
        var adv = randn([b], ScalarType.Float64, generator: g);
        return new PolicyLossInputs
        {
            LogProbs = lp.to(dtype).to(dev).requires_grad_(),
            Advantages = adv.to(dtype).to(dev),
            Mask = mask.to(dev),
            OldLogProbs = old.to(dtype).to(dev),
            ReferenceLogProbs = reference.to(dtype).to(dev),
            SamplerLogProbs = sampler.to(dtype).to(dev),
        };
    }

    /// <summary>Median over 5 batches of the mean time per call (ms), after warm-up; synchronised around each batch.</summary>
    private static double Time(bool onGpu, Action step, int warm = 5, int iters = 20)
    {
        for (int i = 0; i < warm; i++)
        {
            step();
        }

        var samples = new double[5];
        for (int k = 0; k < samples.Length; k++)
        {
            if (onGpu)
            {
                cuda.synchronize();
            }

            var sw = Stopwatch.StartNew();
            for (int i = 0; i < iters; i++)
            {
                step();
            }

            if (onGpu)
            {
                cuda.synchronize();
            }

            samples[k] = sw.Elapsed.TotalMilliseconds / iters;
        }

        Array.Sort(samples);
        return samples[samples.Length / 2];
    }

    private static void Say(string line)
    {
        Console.WriteLine(line);
        Report.AppendLine(line);
    }
}
