using System.Diagnostics;
using TorchSharp;
using Vepa.Grpo;
using Vepa.Grpo.Tests;
using static TorchSharp.torch;

// GPU check for the Vepa kernels: run on a machine with PyTorch installed, with LD_LIBRARY_PATH=<site-packages>/torch/lib so that
// TorchSharp's libLibTorchSharp.so binds to that installation's LibTorch. `Vepa.GpuCheck cpu` runs the same checks on the CPU.
string which = args.Length > 0 ? args[0] : "cuda";
if (which == "qwen2vl-bench")
{
    try { InitializeDeviceType(DeviceType.CUDA); } catch (Exception e) { Console.WriteLine("CUDA init failed: " + e); return 2; }
    return QwenVlBench.Run();
}

if (which is "cuda-kernels" or "cpu-kernels")
{
    if (which == "cuda-kernels")
    {
        try { InitializeDeviceType(DeviceType.CUDA); } catch (Exception e) { Console.WriteLine("CUDA init failed: " + e); return 2; }
        Console.WriteLine($"cuda available: {cuda.is_available()}, devices: {cuda.device_count()}");
    }

    return CudaKernelCheck.Run(which == "cuda-kernels");
}

Device dev = which == "cuda" ? CUDA : CPU;
if (which == "cuda")
{
    try { InitializeDeviceType(DeviceType.CUDA); } catch (Exception e) { Console.WriteLine("CUDA init failed: " + e); return 2; }
    Console.WriteLine($"cuda available: {cuda.is_available()}, devices: {cuda.device_count()}");
}

int failures = 0;
var configs = new (string Name, PolicyLossOptions O, bool OnPolicy, bool TokenAdv, bool FloatMask)[]
{
    ("default", new PolicyLossOptions(), false, false, false),
    ("on-policy,k3", new PolicyLossOptions { Beta = 0.04 }, true, false, false),
    ("trl-delta,k3", new PolicyLossOptions { Delta = 1.5, Beta = 0.04 }, false, false, true),
    ("verl,dual,clamps,token-mean", new PolicyLossOptions { LogRatioClamp = 0.4, DualClip = 2, Beta = 0.04, KlLogRatioClamp = 0.3, KlValueClamp = 0.02, Aggregation = LossAggregation.TokenMean }, false, true, false),
    ("gspo", new PolicyLossOptions { RatioLevel = RatioLevel.Sequence, EpsilonLow = 0.05, EpsilonHigh = 0.08 }, false, false, false),
    ("gspo,dual,k2,trunc-seq", new PolicyLossOptions { RatioLevel = RatioLevel.Sequence, DualClip = 3, Beta = 0.05, KlEstimator = KlEstimator.K2, SamplerCorrection = SamplerCorrectionMode.Truncate, SamplerCorrectionPerSequence = true, SamplerCorrectionMin = 0.5, SamplerCorrectionMax = 1.8 }, false, false, false),
    ("cispo,k1,const", new PolicyLossOptions { Objective = PolicyObjective.Cispo, EpsilonHigh = 1.3, Beta = 0.05, KlEstimator = KlEstimator.K1, Aggregation = LossAggregation.ConstantNormalizer, MaxCompletionLength = 80 }, false, true, false),
    ("cispo,seq,mask-token,sum", new PolicyLossOptions { Objective = PolicyObjective.Cispo, RatioLevel = RatioLevel.Sequence, EpsilonHigh = 1.1, Aggregation = LossAggregation.TokenSum, SamplerCorrection = SamplerCorrectionMode.Mask, SamplerCorrectionMin = 0.5, SamplerCorrectionMax = 1.8 }, false, false, true),
    ("dapo,clip-higher,mask-token", new PolicyLossOptions { EpsilonHigh = 0.28, Aggregation = LossAggregation.TokenMean, SamplerCorrection = SamplerCorrectionMode.Mask, SamplerCorrectionMin = 0.5, SamplerCorrectionMax = 1.8 }, false, false, false),
};

PolicyLossInputs Make(int seed, int b, int t, ScalarType dtype, bool onPolicy, bool tokenAdv, bool floatMask, Device d)
{
    var rng = new Random(seed);
    int n = b * t;
    var valid = new bool[n];
    for (int i = 0; i < b; i++)
    {
        int len = i == 1 ? 0 : 1 + rng.Next(t);
        for (int j = 0; j < len; j++) valid[(i * t) + j] = true;
    }
    double N() => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
    double[] lp = Enumerable.Range(0, n).Select(_ => -(0.05 + (2.5 * rng.NextDouble()))).ToArray();
    double[] old = lp.Select(x => x + (0.35 * N())).ToArray();
    double[] rf = lp.Select(x => x + (0.4 * N())).ToArray();
    double[] sm = old.Select(x => x + (0.4 * N())).ToArray();
    double[] adv = Enumerable.Range(0, tokenAdv ? n : b).Select(_ => N()).ToArray();
    for (int i = 0; i < n; i++)
    {
        if (!valid[i]) { lp[i] = double.NaN; old[i] = double.PositiveInfinity; rf[i] = double.NegativeInfinity; sm[i] = double.NaN; if (tokenAdv) adv[i] = double.NaN; }
    }
    Tensor T2(double[] v) => tensor(v).reshape(b, t).to(dtype).to(d);
    Tensor mask = tensor(valid).reshape(b, t).to(d);
    return new PolicyLossInputs
    {
        LogProbs = T2(lp).detach().requires_grad_(),
        Advantages = tokenAdv ? T2(adv) : tensor(adv).to(dtype).to(d),
        Mask = floatMask ? mask.to(dtype) : mask,
        OldLogProbs = onPolicy ? null : T2(old),
        ReferenceLogProbs = T2(rf),
        SamplerLogProbs = T2(sm),
    };
}

(double Loss, double[] Stats, Tensor Grad) RunFused(PolicyLossInputs inp, PolicyLossOptions o)
{
    var oo = o.Clone(); oo.Kernel = "fused-tensor";
    using var r = PolicyLoss.Compute(inp, oo);
    var g = autograd.grad([r.Loss], [inp.LogProbs])[0];
    var s = r.Statistics;
    return (r.Loss.to(ScalarType.Float64).cpu().item<double>(), [s.ClipFractionLow, s.ClipFractionHigh, s.DualClipFraction, s.MeanRatio, s.MeanKl, s.SamplerCorrectionFraction, s.TokenCount], g);
}

(double Loss, double[] Stats, Tensor Grad) RunRef(PolicyLossInputs inp, PolicyLossOptions o)
{
    var (l, s) = ReferencePolicyLoss.Compute(inp, o);
    var g = autograd.grad([l], [inp.LogProbs])[0];
    return (l.to(ScalarType.Float64).cpu().item<double>(), [s.ClipFractionLow, s.ClipFractionHigh, s.DualClipFraction, s.MeanRatio, s.MeanKl, s.SamplerCorrectionFraction, s.TokenCount], g);
}

double GradDiff(Tensor a, Tensor e)
{
    var a64 = a.detach().to(ScalarType.Float64).cpu();
    var e64 = e.detach().to(ScalarType.Float64).cpu();
    double scale = Math.Max(e64.abs().max().item<double>(), 1e-300);
    return (a64 - e64).abs().max().item<double>() / scale;
}

double Rel(double a, double e) => Math.Abs(a - e) / Math.Max(1.0, Math.Abs(e));

foreach (var dtype in new[] { ScalarType.Float64, ScalarType.Float32, ScalarType.BFloat16 })
{
    double tol = dtype == ScalarType.Float64 ? 1e-10 : dtype == ScalarType.Float32 ? 1e-5 : 1e-2;
    int seed = 0;
    foreach (var c in configs)
    {
        using var scope = NewDisposeScope();
        seed++;
        var inDev = Make(seed, 8, 64, dtype, c.OnPolicy, c.TokenAdv, c.FloatMask, dev);
        var inCpu = Make(seed, 8, 64, dtype, c.OnPolicy, c.TokenAdv, c.FloatMask, CPU);
        var fd = RunFused(inDev, c.O);
        var rd = RunRef(inDev, c.O);
        var fc = RunFused(inCpu, c.O);
        string gdev = fd.Grad.device.ToString() + "/" + fd.Grad.dtype;
        double lossVsRef = Rel(fd.Loss, rd.Loss), gradVsRef = GradDiff(fd.Grad, rd.Grad), lossVsCpu = Rel(fd.Loss, fc.Loss), gradVsCpu = GradDiff(fd.Grad, fc.Grad);
        double statsVsRef = fd.Stats.Zip(rd.Stats, Rel).Max();
        bool ok = lossVsRef <= tol && gradVsRef <= tol && statsVsRef <= Math.Max(tol, 1e-5) && lossVsCpu <= tol && gradVsCpu <= tol && fd.Grad.dtype == dtype;
        if (!ok) failures++;
        Console.WriteLine($"{(ok ? "ok  " : "FAIL")} {dtype,-9} {c.Name,-28} loss {fd.Loss,12:G6} |vs ref: loss {lossVsRef:E1} grad {gradVsRef:E1} stats {statsVsRef:E1} |vs cpu: loss {lossVsCpu:E1} grad {gradVsCpu:E1} | grad on {gdev}");
    }
}

// NaN at a valid position is rejected on the device too.
{
    using var scope = NewDisposeScope();
    var inp = Make(99, 4, 16, ScalarType.Float32, false, false, false, dev);
    using (no_grad()) { inp.LogProbs[2, 0] = tensor(float.NaN); }
    try { PolicyLoss.Compute(inp, new PolicyLossOptions { Kernel = "fused-tensor" }).Dispose(); failures++; Console.WriteLine("FAIL no exception for NaN"); }
    catch (ArgumentException e) { Console.WriteLine("ok   NaN rejected: " + e.Message); }
}

// Informal timing (not a benchmark): forward + backward, float32 and bf16, VEPA-like options.
foreach (var (b, t, dtype) in new[] { (64, 2048, ScalarType.Float32), (256, 4096, ScalarType.Float32), (256, 4096, ScalarType.BFloat16) })
{
    var o = new PolicyLossOptions { Beta = 0.01, LogRatioClamp = 20, DualClip = 3, SamplerCorrection = SamplerCorrectionMode.Truncate };
    using var scope = NewDisposeScope();
    var inp = Make(7, b, t, dtype, false, false, false, dev);
    double Time(Action step)
    {
        for (int i = 0; i < 3; i++) step();
        if (which == "cuda") cuda.synchronize();
        var sw = Stopwatch.StartNew();
        const int iters = 20;
        for (int i = 0; i < iters; i++) step();
        if (which == "cuda") cuda.synchronize();
        return sw.Elapsed.TotalMilliseconds / iters;
    }
    double fused = Time(() => { using var s = NewDisposeScope(); var oo = o.Clone(); oo.Kernel = "fused-tensor"; var r = PolicyLoss.Compute(inp, oo); r.Loss.backward(); });
    double reference = Time(() => { using var s = NewDisposeScope(); var (l, _) = ReferencePolicyLoss.Compute(inp, o); l.backward(); });
    Console.WriteLine($"time B={b} T={t} {dtype}: fused {fused:F3} ms, reference (autograd, 7 stat syncs) {reference:F3} ms per loss+backward");
}


// ---- Advantages on the device vs the same call on the CPU (whose managed kernel the test suite checks against a float64 reference).
foreach (var mode in new[] { AdvantageNormalization.GroupStd, AdvantageNormalization.BatchStd, AdvantageNormalization.MeanCentered, AdvantageNormalization.LeaveOneOut })
{
    foreach (var dtype in new[] { ScalarType.Float64, ScalarType.Float32 })
    {
        using var scope = NewDisposeScope();
        var rewards = rand(new long[] { 256, 8 }, dtype: ScalarType.Float64, generator: new Generator(5)).round();
        rewards[3] = tensor(double.NaN);                       // a whole group that could not be scored
        rewards[7, 2] = tensor(double.NaN);                    // one failed reward
        rewards[9] = full(8, 0.5, dtype: ScalarType.Float64);  // a zero-std group
        var options = new AdvantageOptions { Normalization = mode };
        using var onDevice = GroupAdvantages.Compute(rewards.to(dtype).to(dev), options);
        using var onCpu = GroupAdvantages.Compute(rewards.to(dtype), options);
        double diff = (onDevice.Advantages.cpu().to(ScalarType.Float64) - onCpu.Advantages.to(ScalarType.Float64)).abs().max().item<double>();
        double tol = dtype == ScalarType.Float64 ? 1e-12 : 1e-5;
        bool ok = diff <= tol && onDevice.ZeroSignalGroupCount == onCpu.ZeroSignalGroupCount && onDevice.Advantages.device_type == dev.type;
        if (!ok) failures++;
        Console.WriteLine($"{(ok ? "ok  " : "FAIL")} advantages {mode,-12} {dtype,-8} max |device - cpu| {diff:E1}, zero-signal groups {onDevice.ZeroSignalGroupCount}/{onCpu.ZeroSignalGroupCount}");
    }
}

// ---- Token log-probs on the device vs a float64 log_softmax + gather reference (values and logits gradient).
foreach (var dtype in new[] { ScalarType.Float64, ScalarType.Float32, ScalarType.BFloat16 })
{
    using var scope = NewDisposeScope();
    var g = new Generator(9);
    var logits64 = randn(new long[] { 4, 96, 5000 }, dtype: ScalarType.Float64, generator: g) * 3;
    var targets = randint(5000, new long[] { 4, 96 }, generator: g);
    var logits = logits64.to(dtype).to(dev).detach().requires_grad_();
    var lp = TokenLogProbs.FromLogits(logits, targets.to(dev), temperature: 0.9, chunkSize: 50);
    var upstream = randn(new long[] { 4, 96 }, dtype: ScalarType.Float64, generator: g);
    var gradLogits = autograd.grad([(lp.to(ScalarType.Float64) * upstream.to(dev)).sum()], [logits])[0];

    var reference = logits.detach().to(ScalarType.Float64).cpu().requires_grad_();
    var refLp = (reference / 0.9).log_softmax(-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1);
    var refGrad = autograd.grad([(refLp * upstream).sum()], [reference])[0];
    double valueDiff = (lp.cpu().to(ScalarType.Float64) - refLp.detach()).abs().max().item<double>();
    double gradDiff = (gradLogits.cpu().to(ScalarType.Float64) - refGrad).abs().max().item<double>() / refGrad.abs().max().item<double>();
    double tol = dtype == ScalarType.Float64 ? 1e-10 : dtype == ScalarType.Float32 ? 1e-5 : 2e-2;
    bool ok = valueDiff <= tol && gradDiff <= tol && gradLogits.dtype == dtype;
    if (!ok) failures++;
    Console.WriteLine($"{(ok ? "ok  " : "FAIL")} token log-probs (chunked) {dtype,-9} values {valueDiff:E1}, grad {gradDiff:E1}");

    var hidden = randn(new long[] { 4, 96, 64 }, dtype: ScalarType.Float64, generator: g).to(dtype).to(dev).requires_grad_();
    var weight = (randn(new long[] { 5000, 64 }, dtype: ScalarType.Float64, generator: g) * 0.2).to(dtype).to(dev).requires_grad_();
    var fused = TokenLogProbs.FromHiddenStates(hidden, weight, targets.to(dev), chunkSize: 64);
    var fusedGrads = autograd.grad([(fused.to(ScalarType.Float64) * upstream.to(dev)).sum()], [hidden, weight]);
    var h64 = hidden.detach().to(ScalarType.Float64).cpu().requires_grad_();
    var w64 = weight.detach().to(ScalarType.Float64).cpu().requires_grad_();
    var plain = h64.matmul(w64.t()).log_softmax(-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1);
    var plainGrads = autograd.grad([(plain * upstream).sum()], [h64, w64]);
    double fusedValue = (fused.cpu().to(ScalarType.Float64) - plain.detach()).abs().max().item<double>();
    double fusedGrad = Math.Max(
        (fusedGrads[0].cpu().to(ScalarType.Float64) - plainGrads[0]).abs().max().item<double>() / plainGrads[0].abs().max().item<double>(),
        (fusedGrads[1].cpu().to(ScalarType.Float64) - plainGrads[1]).abs().max().item<double>() / plainGrads[1].abs().max().item<double>());
    double fusedTol = dtype == ScalarType.Float64 ? 1e-10 : dtype == ScalarType.Float32 ? 1e-4 : 5e-2;
    ok = fusedValue <= fusedTol * 10 && fusedGrad <= fusedTol;
    if (!ok) failures++;
    Console.WriteLine($"{(ok ? "ok  " : "FAIL")} token log-probs (fused linear) {dtype,-9} values {fusedValue:E1}, grads {fusedGrad:E1}");
}

// ---- The correctness gate on the device (every documented variant, awkward shapes, float64/float32/bf16) and the fused
// linear policy loss against its composition (FromHiddenStates + PolicyLoss.Compute) on the device.
foreach (var kernel in Vepa.Grpo.Kernels.KernelRegistry.CreateDefault().PolicyLossKernels.Where(k => k.Name == "fused-tensor"))
{
    var report = Vepa.Grpo.Kernels.KernelGate.CheckPolicyLoss(kernel, new GateReference(), new Vepa.Grpo.Kernels.KernelGateOptions { Device = dev });
    if (!report.Passed) failures++;
    Console.WriteLine($"{(report.Passed ? "ok  " : "FAIL")} gate {kernel.Name}: {report.CasesRun} cases{(report.FirstMismatch is null ? "" : ", first mismatch " + report.FirstMismatch)}");
}

foreach (var dtype in new[] { ScalarType.Float64, ScalarType.Float32, ScalarType.BFloat16 })
{
    using var scope = NewDisposeScope();
    var gen = new Generator(11UL, CPU);
    var hidden = randn(new long[] { 4, 300, 64 }, ScalarType.Float64, generator: gen).to(dtype).to(dev).requires_grad_();
    var weight = (randn(new long[] { 5000, 64 }, ScalarType.Float64, generator: gen) * 0.2).to(dtype).to(dev).requires_grad_();
    var targets = randint(5000, new long[] { 4, 300 }, generator: gen).to(dev);
    var mask = ones(4, 300, ScalarType.Int64).to(dev);
    mask[1].narrow(0, 0, 40).fill_(0);
    var adv = randn(new long[] { 4 }, generator: gen).to(dev);
    var o = new PolicyLossOptions { Beta = 0.01 };
    using var fusedResult = FusedLinearPolicyLoss.Compute(new FusedLinearPolicyLossInputs { Hidden = hidden, Weight = weight, Targets = targets, Advantages = adv, Mask = mask, ChunkSize = 256 }, o);
    var fusedGrads = autograd.grad([fusedResult.Loss], [hidden, weight]);
    var lp = TokenLogProbs.FromHiddenStates(hidden, weight, targets);
    using var composed = PolicyLoss.Compute(new PolicyLossInputs { LogProbs = lp, Advantages = adv, Mask = mask }, o);
    var composedGrads = autograd.grad([composed.Loss], [hidden, weight]);
    double lossDiff = Math.Abs(fusedResult.Loss.to(ScalarType.Float64).item<double>() - composed.Loss.to(ScalarType.Float64).item<double>());
    double gh = GradDiff(fusedGrads[0], composedGrads[0]);
    double gw = GradDiff(fusedGrads[1], composedGrads[1]);
    double tol = dtype == ScalarType.Float64 ? 1e-10 : dtype == ScalarType.Float32 ? 1e-4 : 2e-2;
    bool ok = lossDiff <= tol && gh <= tol && gw <= tol && fusedGrads[0].device_type == dev.type;
    if (!ok) failures++;
    Console.WriteLine($"{(ok ? "ok  " : "FAIL")} fused linear policy loss {dtype,-9} loss {lossDiff:E1}, d/dhidden {gh:E1}, d/dweight {gw:E1}");
}

// ---- Informal timing of the log-prob kernels (not a benchmark): forward + backward at V = 152k.
foreach (var (rows, vocabulary) in new[] { (4096, 151936), (16384, 32768) })
{
    using var scope = NewDisposeScope();
    var logits = randn(new long[] { 1, rows, vocabulary }, device: dev).requires_grad_();
    var targets = randint(vocabulary, new long[] { 1, rows }, device: dev);
    double Time(Action step)
    {
        step();
        if (which == "cuda") cuda.synchronize();
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < 5; i++) step();
        if (which == "cuda") cuda.synchronize();
        return sw.Elapsed.TotalMilliseconds / 5;
    }
    double chunked = Time(() => { using var s = NewDisposeScope(); autograd.grad([TokenLogProbs.FromLogits(logits, targets).sum()], [logits]); });
    double plain = Time(() => { using var s = NewDisposeScope(); autograd.grad([logits.log_softmax(-1).gather(-1, targets.unsqueeze(-1)).sum()], [logits]); });
    Console.WriteLine($"time token log-probs N={rows} V={vocabulary}: chunked {chunked:F2} ms, plain log_softmax+gather {plain:F2} ms (forward+backward)");
}

Console.WriteLine(failures == 0 ? "ALL OK" : $"{failures} FAILURES");
return failures == 0 ? 0 : 1;

/// <summary>The tests' plain composition as the gate's float64 reference.</summary>
internal sealed class GateReference : Vepa.Grpo.Kernels.IPolicyLossKernel
{
    public string Name => "reference";

    public bool Supports(PolicyLossInputs inputs, PolicyLossOptions options, out string? reason)
    {
        reason = null;
        return true;
    }

    public PolicyLossResult Compute(PolicyLossInputs inputs, PolicyLossOptions options)
    {
        var (loss, statistics) = ReferencePolicyLoss.Compute(inputs, options);
        return new PolicyLossResult(loss, statistics);
    }
}
