using System.Globalization;
using TorchSharp;
using static TorchSharp.torch;

namespace Vepa.Grpo.Kernels;

/// <summary>
/// The correctness gate: runs a kernel on seeded inputs over the option grid (every named variant of docs/kernels.md) and
/// awkward shapes, compares its values, statistics and gradients with a float64 reference, and stops at the first mismatch.
/// The benchmark harness times only kernels that pass.
/// </summary>
/// <remarks>The gate never throws for a failing kernel: an exception or a loss without a graph is reported as that case's
/// mismatch. Not thread-safe with respect to the kernels it runs (it runs them one case at a time).</remarks>
[System.Diagnostics.CodeAnalysis.Experimental(KernelContracts.ExperimentalDiagnosticId)]
public static class KernelGate
{
    /// <summary>Checks a policy-loss kernel against a float64 reference kernel (for example a plain autograd composition).</summary>
    /// <param name="candidate">The kernel under test.</param>
    /// <param name="reference">The reference; it runs on float64 copies of every case's inputs.</param>
    /// <param name="options">The gate settings; <see langword="null"/> uses the defaults.</param>
    /// <returns>The report.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="candidate"/> or <paramref name="reference"/> is <see langword="null"/>.</exception>
    public static KernelGateReport CheckPolicyLoss(IPolicyLossKernel candidate, IPolicyLossKernel reference, KernelGateOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(candidate);
        ArgumentNullException.ThrowIfNull(reference);
        options ??= new KernelGateOptions();
        Device device = options.Device ?? CPU;
        int run = 0;
        int skipped = 0;
        int index = 0;
        foreach (var c in KernelGateCases.All(options.Dtypes))
        {
            using var scope = NewDisposeScope();
            var inputs = KernelGateCases.Create(c, options.Seed + index++, device);
            if (!candidate.Supports(inputs, c.Options, out _))
            {
                skipped++;
                continue;
            }

            run++;
            string? mismatch = ComparePolicyLoss(candidate, reference, inputs, c);
            if (mismatch is not null)
            {
                return new KernelGateReport(candidate.Name, run, skipped, $"case {run} ({c}): {mismatch}");
            }
        }

        return new KernelGateReport(candidate.Name, run, skipped, null);
    }

    /// <summary>Checks a token log-prob kernel against plain float64 <c>log_softmax</c> + <c>gather</c> with autograd.</summary>
    /// <param name="candidate">The kernel under test.</param>
    /// <param name="options">The gate settings; <see langword="null"/> uses the defaults.</param>
    /// <returns>The report.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="candidate"/> is <see langword="null"/>.</exception>
    public static KernelGateReport CheckTokenLogProbs(ITokenLogProbKernel candidate, KernelGateOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(candidate);
        options ??= new KernelGateOptions();
        Device device = options.Device ?? CPU;
        (int B, int T, int V)[] shapes = [(1, 1, 1), (2, 3, 5), (3, 17, 257), (1, 70, 1000)];
        double[] temperatures = [1.0, 0.7];
        int run = 0;
        foreach (var dtype in options.Dtypes)
        {
            foreach (var (b, t, v) in shapes)
            {
                foreach (double temperature in temperatures)
                {
                    using var scope = NewDisposeScope();
                    run++;
                    using var generator = new Generator((ulong)(options.Seed + run), CPU);
                    var logits64 = (randn([b, t, v], ScalarType.Float64, generator: generator) * 3.0).to(dtype).to(ScalarType.Float64).to(device);
                    var targets = randint(v, [b, t], ScalarType.Int64, generator: generator).to(device);
                    var upstream = randn([b, t], ScalarType.Float64, generator: generator).to(device);
                    string what = $"case {run} ([{b}, {t}, {v}], {dtype}, temperature {temperature.ToString(CultureInfo.InvariantCulture)})";

                    var reference = logits64.detach().requires_grad_();
                    var expected = (reference / temperature).log_softmax(-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1);
                    var expectedGrad = autograd.grad([(expected * upstream).sum()], [reference])[0];

                    var leaf = logits64.to(dtype).requires_grad_();
                    string? mismatch;
                    try
                    {
                        var actual = candidate.Compute(leaf * 1.0, targets, temperature);
                        mismatch = actual.shape.SequenceEqual(new long[] { b, t }) ? null : $"log-probs have shape [{string.Join(", ", actual.shape)}], expected [{b}, {t}]";
                        mismatch ??= actual.requires_grad ? null : "the log-probs carry no gradient (requires_grad is false)";
                        if (mismatch is null)
                        {
                            var grad = autograd.grad([(actual.to(ScalarType.Float64) * upstream).sum()], [leaf], allow_unused: true)[0];
                            var (valueTolerance, gradientTolerance) = Tolerances(dtype);
                            mismatch = CompareTensor("log-probs", actual, expected, valueTolerance)
                                ?? CompareTensor("d/dlogits", grad, expectedGrad, gradientTolerance);
                        }
                    }
                    catch (Exception e) when (e is not OutOfMemoryException)
                    {
                        mismatch = $"threw {e.GetType().Name}: {e.Message}";
                    }

                    if (mismatch is not null)
                    {
                        return new KernelGateReport(candidate.Name, run, 0, $"{what}: {mismatch}");
                    }
                }
            }
        }

        return new KernelGateReport(candidate.Name, run, 0, null);
    }

    /// <summary>
    /// Checks a linear policy-loss kernel (hidden states and LM head → loss) against the plain float64 composition: matmul,
    /// <c>log_softmax</c>, <c>gather</c>, then <paramref name="reference"/>, with autograd for the hidden states', weight's
    /// and bias' gradients. Every named variant, three shapes (1×1, 3×7, 2×33; H = 8, V = 37, chunks of 5 positions),
    /// completions starting at different positions; float64 (1e-10) and float32 (1e-5 values, 1e-4 gradients). bf16 is not
    /// gated for this contract: its logits are rounded before the softmax, so a ratio at a clip boundary may land on either side.
    /// </summary>
    /// <param name="candidate">The kernel under test.</param>
    /// <param name="reference">The policy-loss reference; it runs on float64 log-probs.</param>
    /// <param name="options">The gate settings; <see langword="null"/> uses the defaults.</param>
    /// <returns>The report.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="candidate"/> or <paramref name="reference"/> is <see langword="null"/>.</exception>
    public static KernelGateReport CheckLinearPolicyLoss(ILinearPolicyLossKernel candidate, IPolicyLossKernel reference, KernelGateOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(candidate);
        ArgumentNullException.ThrowIfNull(reference);
        options ??= new KernelGateOptions();
        Device device = options.Device ?? CPU;
        const int hiddenSize = 8;
        const int vocabulary = 37;
        int run = 0;
        foreach (var dtype in options.Dtypes.Where(d => d is ScalarType.Float64 or ScalarType.Float32))
        {
            foreach (var (name, create) in KernelGateCases.Variants)
            {
                foreach (var (b, t) in new[] { (1, 1), (3, 7), (2, 33) })
                {
                    using var scope = NewDisposeScope();
                    run++;
                    var c = new KernelGateCase(name, create(), b, t, ScalarType.Float64, "plain");
                    string? mismatch = CompareLinear(candidate, reference, c, dtype, hiddenSize, vocabulary, options.Seed + run, device);
                    if (mismatch is not null)
                    {
                        return new KernelGateReport(candidate.Name, run, 0, $"case {run} ({name}, {b}x{t}, H {hiddenSize}, V {vocabulary}, {dtype}): {mismatch}");
                    }
                }
            }
        }

        return new KernelGateReport(candidate.Name, run, 0, null);
    }

    /// <summary>
    /// Checks an advantage kernel against plain float64 managed loops: every <see cref="AdvantageNormalization"/>, ε 1e-4,
    /// 1e-6 and 1e-9, rewards [P, G] of shapes 1×4, 6×2, 5×16 and 257×8, in three forms (Gaussian rewards; rows cycling
    /// through one NaN, all but one NaN, all NaN, constant and Gaussian; 0/1 rewards, many groups constant), float64 (1e-10)
    /// and float32 (1e-5) inputs (other dtypes of <see cref="KernelGateOptions.Dtypes"/> are not gated for this contract).
    /// Advantages of NaN rewards and of zero-signal groups must be exactly 0.
    /// </summary>
    /// <param name="candidate">The kernel under test.</param>
    /// <param name="options">The gate settings; <see langword="null"/> uses the defaults.</param>
    /// <returns>The report.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="candidate"/> is <see langword="null"/>.</exception>
    public static KernelGateReport CheckAdvantages(IAdvantageKernel candidate, KernelGateOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(candidate);
        options ??= new KernelGateOptions();
        Device device = options.Device ?? CPU;
        (int P, int G)[] shapes = [(1, 4), (6, 2), (5, 16), (257, 8)];
        string[] forms = ["gaussian", "nan-rows", "binary"];
        double[] epsilons = [1e-4, 1e-6, 1e-9];
        int run = 0;
        foreach (var dtype in options.Dtypes.Where(d => d is ScalarType.Float64 or ScalarType.Float32))
        {
            foreach (var (p, g) in shapes)
            {
                foreach (string form in forms)
                {
                    double[] rewards = AdvantageRewards(p, g, form, options.Seed + run);
                    foreach (var mode in Enum.GetValues<AdvantageNormalization>())
                    {
                        foreach (double epsilon in epsilons)
                        {
                            using var scope = NewDisposeScope();
                            run++;
                            string what = string.Create(CultureInfo.InvariantCulture, $"case {run} ({mode}, eps {epsilon:G2}, {p}x{g}, {dtype}, {form})");
                            string? mismatch = CompareAdvantages(candidate, rewards, p, g, dtype, new AdvantageOptions { Normalization = mode, Epsilon = epsilon }, device);
                            if (mismatch is not null)
                            {
                                return new KernelGateReport(candidate.Name, run, 0, $"{what}: {mismatch}");
                            }
                        }
                    }
                }
            }
        }

        return new KernelGateReport(candidate.Name, run, 0, null);
    }

    private static double[] AdvantageRewards(int p, int g, string form, int seed)
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator((ulong)seed, CPU);
        double[] r = form == "binary"
            ? randint(2, [p * g], ScalarType.Float64, generator: generator).data<double>().ToArray()
            : ((randn([p * g], ScalarType.Float64, generator: generator) * 2.0) + 0.5).data<double>().ToArray();
        if (form == "nan-rows")
        {
            for (int row = 0; row < p; row++)
            {
                int start = row * g;
                switch (row % 5)
                {
                    case 0: // one NaN
                        r[start + (row % g)] = double.NaN;
                        break;
                    case 1: // all but one NaN
                        for (int i = 0; i < g; i++)
                        {
                            r[start + i] = i == g - 1 ? r[start + i] : double.NaN;
                        }

                        break;
                    case 2: // all NaN
                        Array.Fill(r, double.NaN, start, g);
                        break;
                    case 3: // constant
                        Array.Fill(r, 0.75, start, g);
                        break;
                }
            }
        }

        return r;
    }

    private static string? CompareAdvantages(IAdvantageKernel candidate, double[] values, int p, int g, ScalarType dtype, AdvantageOptions options, Device device)
    {
        // The reference sees the rewards as the candidate does: rounded to the input dtype.
        var rewards = tensor(values, [p, g], ScalarType.Float64).to(dtype);
        double[] rounded = rewards.to(ScalarType.Float64).data<double>().ToArray();
        var (expected, exactZero) = AdvantageGateReference.Compute(rounded, p, g, options.Normalization, options.Epsilon);
        var input = rewards.to(device);
        Tensor actual;
        try
        {
            actual = candidate.Compute(input, options);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return $"threw {e.GetType().Name}: {e.Message}";
        }

        if (actual.dtype != dtype)
        {
            return $"the advantages are {actual.dtype}, expected {dtype} (the rewards' dtype)";
        }

        string? mismatch = CompareTensor("advantages", actual, tensor(expected, [p, g], ScalarType.Float64), Tolerances(dtype).Values);
        if (mismatch is not null)
        {
            return mismatch;
        }

        double[] got = actual.detach().to(ScalarType.Float64).cpu().data<double>().ToArray();
        for (int i = 0; i < got.Length; i++)
        {
            if (exactZero[i] && got[i] != 0.0)
            {
                string why = double.IsNaN(rounded[i]) ? "its reward is NaN" : "its group carries no signal";
                return string.Create(CultureInfo.InvariantCulture, $"advantages at flat index {i}: expected exactly 0 ({why}), got {got[i]:R}");
            }
        }

        return null;
    }

    private static string? CompareLinear(
        ILinearPolicyLossKernel candidate, IPolicyLossKernel reference, KernelGateCase c, ScalarType dtype, int hiddenSize, int vocabulary, int seed, Device device)
    {
        using var generator = new Generator((ulong)seed, CPU);
        var hidden = randn([c.Batch, c.Time, hiddenSize], ScalarType.Float64, generator: generator).to(dtype).to(device);
        var weight = (randn([vocabulary, hiddenSize], ScalarType.Float64, generator: generator) * 0.5).to(dtype).to(device);
        var bias = (randn([vocabulary], ScalarType.Float64, generator: generator) * 0.3).to(dtype).to(device);
        var targets = randint(vocabulary, [c.Batch, c.Time], ScalarType.Int64, generator: generator).to(device);
        const double temperature = 0.9;

        // The reference: float64 copies of the (rounded) inputs, the plain composition, autograd.
        var h64 = hidden.to(ScalarType.Float64).requires_grad_();
        var w64 = weight.to(ScalarType.Float64).requires_grad_();
        var b64 = bias.to(ScalarType.Float64).requires_grad_();
        var logProbs = (h64.matmul(w64.t()).add(b64) / temperature).log_softmax(-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1);

        // Constants near the model's own log-probs: the gate's noise around them, NaN/±∞ padding kept.
        var shape = KernelGateCases.Create(c, seed, device);
        var own = logProbs.detach();
        var old = own + (shape.OldLogProbs! - shape.LogProbs);
        var constants = new PolicyLossInputs
        {
            LogProbs = logProbs,
            Advantages = shape.Advantages,
            Mask = shape.Mask.dtype == ScalarType.Bool ? shape.Mask.to(ScalarType.Int64) : shape.Mask,
            OldLogProbs = old,
            ReferenceLogProbs = own + (shape.ReferenceLogProbs! - shape.LogProbs),
            SamplerLogProbs = old + (shape.SamplerLogProbs! - shape.OldLogProbs!),
        };
        using var expected = reference.Compute(constants, c.Options);
        if (!expected.Loss.requires_grad)
        {
            return "the reference's loss carries no gradient";
        }

        var expectedGrads = autograd.grad([expected.Loss], [h64, w64, b64], allow_unused: true);

        Tensor? Narrow(Tensor? x) => x?.to(dtype);
        var inputs = new FusedLinearPolicyLossInputs
        {
            Hidden = hidden.requires_grad_(),
            Weight = weight.requires_grad_(),
            Bias = bias.requires_grad_(),
            Targets = targets,
            Advantages = Narrow(constants.Advantages)!,
            Mask = constants.Mask,
            OldLogProbs = Narrow(constants.OldLogProbs),
            ReferenceLogProbs = Narrow(constants.ReferenceLogProbs),
            SamplerLogProbs = Narrow(constants.SamplerLogProbs),
            Temperature = temperature,
            ChunkSize = 5,
        };
        PolicyLossResult actual;
        try
        {
            actual = candidate.Compute(inputs, c.Options);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return $"threw {e.GetType().Name}: {e.Message}";
        }

        using (actual)
        {
            if (!actual.Loss.requires_grad)
            {
                return "the loss carries no gradient w.r.t. the hidden states, weight and bias (requires_grad is false)";
            }

            var grads = autograd.grad([actual.Loss], [inputs.Hidden, inputs.Weight, inputs.Bias!], allow_unused: true);
            Tensor Or0(Tensor? g, Tensor like) => g is null || g.IsInvalid ? zeros_like(like) : g;
            double valueTolerance = dtype == ScalarType.Float64 ? 1e-10 : 1e-5;
            double gradientTolerance = dtype == ScalarType.Float64 ? 1e-10 : 1e-4;
            return CompareScalar("loss", actual.Loss.to(ScalarType.Float64).item<double>(), expected.Loss.item<double>(), valueTolerance)
                ?? CompareTensor("d loss / d hidden", Or0(grads[0], hidden), Or0(expectedGrads[0], h64), gradientTolerance)
                ?? CompareTensor("d loss / d weight", Or0(grads[1], weight), Or0(expectedGrads[1], w64), gradientTolerance)
                ?? CompareTensor("d loss / d bias", Or0(grads[2], bias), Or0(expectedGrads[2], b64), gradientTolerance)
                ?? CompareStatistics(actual.Statistics, expected.Statistics, valueTolerance);
        }
    }

    private static string? ComparePolicyLoss(IPolicyLossKernel candidate, IPolicyLossKernel reference, PolicyLossInputs inputs, KernelGateCase c)
    {
        var (valueTolerance, gradientTolerance) = Tolerances(c.Dtype);
        var wide = KernelGateCases.ToFloat64(inputs);
        var wideLeaf = wide.LogProbs.requires_grad_();

        // With an entropy bonus the gradient w.r.t. the entropy is checked too (it flows into the logits).
        bool bonus = c.Options.EntropyCoefficient > 0;
        var wideEntropy = bonus ? wide.Entropy!.requires_grad_() : null;
        using var expected = reference.Compute(wide, c.Options);
        var expectedGrads = Gradients(expected.Loss, wideLeaf, wideEntropy);
        if (expectedGrads is null)
        {
            return "the reference's loss carries no gradient";
        }

        var leaf = inputs.LogProbs.requires_grad_();
        var entropyLeaf = bonus ? inputs.Entropy!.requires_grad_() : null;
        PolicyLossResult actual;
        try
        {
            actual = candidate.Compute(inputs, c.Options);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return $"threw {e.GetType().Name}: {e.Message}";
        }

        using (actual)
        {
            if (actual.Loss.numel() != 1)
            {
                return $"the loss has {actual.Loss.numel()} elements; a scalar is expected";
            }

            var grads = Gradients(actual.Loss, leaf, entropyLeaf);
            if (grads is null)
            {
                return "the loss carries no gradient w.r.t. LogProbs (requires_grad is false)";
            }

            Tensor valid = inputs.Mask.dtype == ScalarType.Bool ? inputs.Mask : inputs.Mask.ne(0);
            long Leaked(Tensor g) => g.masked_select(valid.logical_not()).count_nonzero().item<long>();
            long leaked = Leaked(grads[0]);
            long entropyLeaked = bonus ? Leaked(grads[1]) : 0;
            return CompareScalar("loss", actual.Loss.to(ScalarType.Float64).item<double>(), expected.Loss.item<double>(), valueTolerance)
                ?? CompareTensor("d loss / d LogProbs", grads[0], expectedGrads[0], gradientTolerance)
                ?? (leaked == 0 ? null : $"d loss / d LogProbs is non-zero at {leaked} masked-out position(s)")
                ?? (bonus ? CompareTensor("d loss / d Entropy", grads[1], expectedGrads[1], gradientTolerance) : null)
                ?? (entropyLeaked == 0 ? null : $"d loss / d Entropy is non-zero at {entropyLeaked} masked-out position(s)")
                ?? CompareStatistics(actual.Statistics, expected.Statistics, valueTolerance);
        }
    }

    /// <summary>The gradients of the loss w.r.t. the log-probs and, when given, the entropy; <see langword="null"/> without a graph.</summary>
    private static Tensor[]? Gradients(Tensor loss, Tensor leaf, Tensor? entropyLeaf)
    {
        // autograd.grad on a tensor without a graph terminates the process in TorchSharp 0.107: check first.
        if (!loss.requires_grad)
        {
            return null;
        }

        var leaves = entropyLeaf is null ? new[] { leaf } : new[] { leaf, entropyLeaf };
        var grads = autograd.grad([loss], leaves, allow_unused: true);
        return leaves.Select((l, i) => grads[i] is null || grads[i].IsInvalid ? zeros_like(l) : grads[i]).ToArray();
    }

    private static (double Values, double Gradients) Tolerances(ScalarType dtype) => dtype switch
    {
        ScalarType.Float64 => (1e-10, 1e-10),
        ScalarType.Float32 => (1e-5, 1e-5),
        _ => (1e-5, 1e-2),
    };

    private static string? CompareStatistics(PolicyLossStatistics a, PolicyLossStatistics e, double tolerance)
    {
        if (a.TokenCount != e.TokenCount)
        {
            return $"TokenCount: expected {e.TokenCount}, got {a.TokenCount}";
        }

        return CompareScalar("ClipFractionLow", a.ClipFractionLow, e.ClipFractionLow, tolerance)
            ?? CompareScalar("ClipFractionHigh", a.ClipFractionHigh, e.ClipFractionHigh, tolerance)
            ?? CompareScalar("DualClipFraction", a.DualClipFraction, e.DualClipFraction, tolerance)
            ?? CompareScalar("MeanRatio", a.MeanRatio, e.MeanRatio, tolerance)
            ?? CompareScalar("MeanKl", a.MeanKl, e.MeanKl, tolerance)
            ?? CompareScalar("SamplerCorrectionFraction", a.SamplerCorrectionFraction, e.SamplerCorrectionFraction, tolerance)
            ?? CompareScalar("EntropyBonus", a.EntropyBonus, e.EntropyBonus, tolerance)
            ?? CompareScalar("EntropyMaskedFraction", a.EntropyMaskedFraction, e.EntropyMaskedFraction, tolerance);
    }

    private static string? CompareScalar(string what, double actual, double expected, double tolerance)
        => Math.Abs(actual - expected) <= tolerance * Math.Max(1.0, Math.Abs(expected))
            ? null
            : string.Create(CultureInfo.InvariantCulture, $"{what}: expected {expected:R}, got {actual:R} (tolerance {tolerance:G2} of max(1, |expected|))");

    private static string? CompareTensor(string what, Tensor actual, Tensor expected, double tolerance)
    {
        using var scope = NewDisposeScope();
        var a = actual.detach().to(ScalarType.Float64).cpu();
        var e = expected.detach().to(ScalarType.Float64).cpu();
        if (!a.shape.SequenceEqual(e.shape))
        {
            return $"{what} has shape [{string.Join(", ", a.shape)}], expected [{string.Join(", ", e.shape)}]";
        }

        var finite = e.isfinite();
        if (!a.isfinite().eq(finite).all().item<bool>())
        {
            return $"{what} is non-finite where the reference is finite (or the reverse)";
        }

        double scale = Math.Max(e.masked_fill(finite.logical_not(), 0.0).abs().max().item<double>(), 1e-300);
        var difference = (a - e).masked_fill(finite.logical_not(), 0.0).abs();
        double worst = difference.max().item<double>();
        if (worst <= tolerance * scale)
        {
            return null;
        }

        long at = difference.flatten().argmax().item<long>();
        return string.Create(
            CultureInfo.InvariantCulture,
            $"{what}: max |difference| {worst:E3} at flat index {at} (expected {e.flatten()[at].item<double>():R}, got {a.flatten()[at].item<double>():R}), over {tolerance:G2} × max |expected| {scale:E3}");
    }
}
