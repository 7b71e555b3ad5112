using TorchSharp;
using static TorchSharp.torch;

namespace Vepa.Grpo.Tests;

/// <summary>Seeded inputs and comparison helpers for the policy-loss tests (thread-safe: no global torch RNG).</summary>
internal static class LossTestData
{
    /// <summary>The kernels every behavioural test runs against.</summary>
    public static readonly string[] Kernels = ["fused-tensor", "managed"];

    /// <summary>What to put into a random batch.</summary>
    public sealed record Shape(int B, int T)
    {
        public bool WithOld { get; init; } = true;
        public bool WithReference { get; init; } = true;
        public bool WithSampler { get; init; } = true;
        public bool PerTokenAdvantages { get; init; }
        public bool FloatMask { get; init; }
        public bool EmptyRow { get; init; } = true;
        public bool FullyMasked { get; init; }
        public double OldNoise { get; init; } = 0.35;
        public ScalarType Dtype { get; init; } = ScalarType.Float64;
    }

    /// <summary>Builds random inputs; masked-out positions of every [B, T] tensor hold NaN, ±infinity or 1e30.</summary>
    public static PolicyLossInputs Random(int seed, Shape s)
    {
        var rng = new Random(seed);
        int n = s.B * s.T;
        var valid = new bool[n];
        for (int b = 0; b < s.B; b++)
        {
            bool empty = s.FullyMasked || (s.EmptyRow && s.B > 2 && b == s.B - 2);
            int length = empty ? 0 : 1 + rng.Next(s.T);
            for (int t = 0; t < length; t++)
            {
                valid[(b * s.T) + t] = true;
            }

            if (length > 3 && rng.NextDouble() < 0.5)
            {
                valid[(b * s.T) + 1 + rng.Next(length - 2)] = false; // a hole (e.g. a masked tool output)
            }
        }

        double[] logp = Fill(n, () => -(0.05 + (2.5 * rng.NextDouble())));
        double[] old = Fill(n, i => logp[i] + (s.OldNoise * Normal(rng)));
        double[] reference = Fill(n, i => logp[i] + (0.4 * Normal(rng)));
        double[] sampler = Fill(n, i => old[i] + (0.4 * Normal(rng)));
        double[] advantages = Fill(s.PerTokenAdvantages ? n : s.B, () => rng.NextDouble() < 0.1 ? 0.0 : Normal(rng));

        double[] padding = [double.NaN, double.PositiveInfinity, double.NegativeInfinity, 1e30];
        for (int i = 0; i < n; i++)
        {
            if (!valid[i])
            {
                logp[i] = padding[rng.Next(4)];
                old[i] = padding[rng.Next(4)];
                reference[i] = padding[rng.Next(4)];
                sampler[i] = padding[rng.Next(4)];
                if (s.PerTokenAdvantages)
                {
                    advantages[i] = padding[rng.Next(4)];
                }
            }
        }

        Tensor mask = tensor(valid).reshape(s.B, s.T);
        return new PolicyLossInputs
        {
            LogProbs = Make(logp, s).requires_grad_(),
            Advantages = s.PerTokenAdvantages ? Make(advantages, s) : tensor(advantages).to(s.Dtype),
            Mask = s.FloatMask ? mask.to(s.Dtype) : mask,
            OldLogProbs = s.WithOld ? Make(old, s) : null,
            ReferenceLogProbs = s.WithReference ? Make(reference, s) : null,
            SamplerLogProbs = s.WithSampler ? Make(sampler, s) : null,
        };
    }

    /// <summary>Runs a kernel (through the public entry point) and returns loss, statistics and d loss / d LogProbs.</summary>
    public static (double Loss, PolicyLossStatistics Statistics, Tensor Gradient) RunKernel(
        PolicyLossInputs inputs, PolicyLossOptions options, string kernel)
    {
        PolicyLossOptions o = options.Clone();
        o.Kernel = kernel;
        using PolicyLossResult result = PolicyLoss.Compute(inputs, o);
        Tensor grad = autograd.grad([result.Loss], [inputs.LogProbs])[0];
        return (result.Loss.to(ScalarType.Float64).item<double>(), result.Statistics, grad);
    }

    /// <summary>Runs the autograd reference and returns loss, statistics and d loss / d LogProbs.</summary>
    public static (double Loss, PolicyLossStatistics Statistics, Tensor Gradient) RunReference(PolicyLossInputs inputs, PolicyLossOptions options)
    {
        (Tensor loss, PolicyLossStatistics stats) = ReferencePolicyLoss.Compute(inputs, options);
        using (loss)
        {
            Tensor grad = autograd.grad([loss], [inputs.LogProbs], allow_unused: true)[0];
            if (grad is null || grad.IsInvalid)
            {
                grad = zeros_like(inputs.LogProbs);
            }

            return (loss.to(ScalarType.Float64).item<double>(), stats, grad);
        }
    }

    /// <summary>Asserts kernel and reference agree: values to <paramref name="rtol"/> (of max(|expected|, 1)), gradients to
    /// <paramref name="rtol"/> of the largest reference gradient, and exact zeros at masked-out positions.</summary>
    public static void AssertMatchesReference(PolicyLossInputs inputs, PolicyLossOptions options, string kernel, double rtol)
    {
        using var scope = NewDisposeScope();
        var expected = RunReference(inputs, options);
        var actual = RunKernel(inputs, options, kernel);

        AssertClose(actual.Loss, expected.Loss, rtol, "loss");
        actual.Gradient.dtype.Should().Be(inputs.LogProbs.dtype, "the gradient comes back in the input dtype");
        AssertTensorClose(actual.Gradient, expected.Gradient, rtol, "d loss / d LogProbs");
        Tensor valid = inputs.Mask.dtype == ScalarType.Bool ? inputs.Mask : inputs.Mask.ne(0);
        actual.Gradient.masked_select(valid.logical_not()).count_nonzero().item<long>().Should().Be(0, "masked-out positions get no gradient");

        AssertStatisticsClose(actual.Statistics, expected.Statistics, rtol);
    }

    /// <summary>Asserts two sets of statistics agree: the token count exactly, every fraction and mean to <paramref name="rtol"/>.</summary>
    public static void AssertStatisticsClose(PolicyLossStatistics a, PolicyLossStatistics e, double rtol)
    {
        a.TokenCount.Should().Be(e.TokenCount);
        AssertClose(a.ClipFractionLow, e.ClipFractionLow, rtol, "ClipFractionLow");
        AssertClose(a.ClipFractionHigh, e.ClipFractionHigh, rtol, "ClipFractionHigh");
        AssertClose(a.DualClipFraction, e.DualClipFraction, rtol, "DualClipFraction");
        AssertClose(a.MeanRatio, e.MeanRatio, rtol, "MeanRatio");
        AssertClose(a.MeanKl, e.MeanKl, rtol, "MeanKl");
        AssertClose(a.SamplerCorrectionFraction, e.SamplerCorrectionFraction, rtol, "SamplerCorrectionFraction");
    }

    public static void AssertClose(double actual, double expected, double rtol, string what)
    {
        double tolerance = rtol * Math.Max(1.0, Math.Abs(expected));
        Math.Abs(actual - expected).Should().BeLessThanOrEqualTo(tolerance, $"{what}: expected {expected:R}, got {actual:R}");
    }

    public static void AssertTensorClose(Tensor actual, Tensor expected, double rtol, string what)
    {
        using var scope = NewDisposeScope();
        Tensor a = actual.detach().to(ScalarType.Float64).cpu();
        Tensor e = expected.detach().to(ScalarType.Float64).cpu();
        a.shape.Should().Equal(e.shape, what);
        a.isfinite().all().item<bool>().Should().BeTrue($"{what} must be finite");
        double scale = e.abs().max().item<double>();
        double diff = (a - e).abs().max().item<double>();
        diff.Should().BeLessThanOrEqualTo(rtol * scale, $"{what}: max |difference| {diff:E3} vs max |expected| {scale:E3}");
    }

    public static Tensor Make(double[] values, Shape s) => tensor(values).reshape(s.B, s.T).to(s.Dtype);

    private static double[] Fill(int n, Func<double> f) => Enumerable.Range(0, n).Select(_ => f()).ToArray();

    private static double[] Fill(int n, Func<int, double> f) => Enumerable.Range(0, n).Select(f).ToArray();

    private static double Normal(Random rng) => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
}
