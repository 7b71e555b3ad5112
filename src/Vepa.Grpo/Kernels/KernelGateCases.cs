using TorchSharp;
using static TorchSharp.torch;

namespace Vepa.Grpo.Kernels;

/// <summary>The gate's option grid (every named variant of docs/kernels.md), its awkward shapes and its seeded inputs.</summary>
internal static class KernelGateCases
{
    /// <summary>The named variants of docs/kernels.md, with the settings that distinguish them.</summary>
    public static IReadOnlyList<(string Name, Func<PolicyLossOptions> Create)> Variants { get; } =
    [
        ("trl-grpo", () => new() { Beta = 0.04, KlEstimator = KlEstimator.K3, Delta = 1.5 }),
        ("trl-bnpo-dapo", () => new() { Aggregation = LossAggregation.TokenMean, EpsilonHigh = 0.28 }),
        ("trl-dr-grpo", () => new() { Aggregation = LossAggregation.ConstantNormalizer, MaxCompletionLength = 40 }),
        ("trl-cispo", () => new() { Objective = PolicyObjective.Cispo, EpsilonHigh = 1.3, Aggregation = LossAggregation.TokenMean }),
        ("gspo", () => new() { RatioLevel = RatioLevel.Sequence, EpsilonLow = 3e-4, EpsilonHigh = 4e-4 }),
        ("trl-sampler-token-truncate", () => new() { SamplerCorrection = SamplerCorrectionMode.Truncate, SamplerCorrectionMax = 3 }),
        ("trl-sampler-sequence-mask", () => new() { SamplerCorrection = SamplerCorrectionMode.Mask, SamplerCorrectionPerSequence = true, SamplerCorrectionMax = 3 }),
        ("verl-vanilla", () => new() { LogRatioClamp = 20, DualClip = 3, Aggregation = LossAggregation.TokenMean }),
        ("verl-low-var-kl", () => new() { Beta = 0.05, KlEstimator = KlEstimator.K3, KlLogRatioClamp = 20, KlValueClamp = 10, Aggregation = LossAggregation.TokenMean }),
        ("verl-kl-k1", () => new() { Beta = 0.05, KlEstimator = KlEstimator.K1 }),
        ("verl-mse-k2", () => new() { Beta = 0.05, KlEstimator = KlEstimator.K2, Aggregation = LossAggregation.TokenSum }),
        ("verl-seq-mean-token-sum", () => new() { Aggregation = LossAggregation.ConstantNormalizer, MaxCompletionLength = 1 }),
        ("dr-grpo", () => new() { Aggregation = LossAggregation.ConstantNormalizer }),
        ("preset-trl-grpo", PolicyLossPresets.TrlGrpo),
        ("preset-dr-grpo", () => PolicyLossPresets.DrGrpo(19)),
        ("preset-dapo", PolicyLossPresets.Dapo),
        ("preset-gspo", PolicyLossPresets.Gspo),
        ("preset-cispo", PolicyLossPresets.Cispo),
        ("preset-verl-grpo", PolicyLossPresets.VerlGrpo),
        ("vepa", () => new() { Beta = 0.01, KlEstimator = KlEstimator.K3 }),
    ];

    /// <summary>The entropy terms (verl's entropy bonus with every aggregation, TRL's top-entropy quantile with KL, sampler
    /// weights, GSPO and CISPO, ρ = 0 keeping only the highest-entropy token), gated on the plain and int64-mask forms.</summary>
    public static IReadOnlyList<(string Name, Func<PolicyLossOptions> Create)> EntropyVariants { get; } =
    [
        ("verl-entropy-bonus", () => new() { EntropyCoefficient = 0.05, Beta = 0.04 }),
        ("verl-entropy-bonus-token-mean", () => new() { Aggregation = LossAggregation.TokenMean, EntropyCoefficient = 0.01, LogRatioClamp = 20, DualClip = 3 }),
        ("entropy-bonus-dr-grpo", () => new() { Aggregation = LossAggregation.ConstantNormalizer, MaxCompletionLength = 40, EntropyCoefficient = 0.02 }),
        ("trl-top-entropy-0.2", () => new() { TopEntropyQuantile = 0.2, Beta = 0.04, Delta = 1.5 }),
        ("trl-top-entropy-0", () => new() { TopEntropyQuantile = 0.0, Aggregation = LossAggregation.TokenMean }),
        ("top-entropy-sampler-bonus", () => new() { TopEntropyQuantile = 0.5, EntropyCoefficient = 0.01, SamplerCorrection = SamplerCorrectionMode.Truncate, Aggregation = LossAggregation.TokenSum }),
        ("gspo-top-entropy", () => new() { RatioLevel = RatioLevel.Sequence, EpsilonLow = 3e-4, EpsilonHigh = 4e-4, TopEntropyQuantile = 0.75 }),
        ("cispo-top-entropy", () => new() { Objective = PolicyObjective.Cispo, EpsilonHigh = 1.3, Aggregation = LossAggregation.TokenMean, TopEntropyQuantile = 0.3 }),
    ];

    /// <summary>The awkward shapes: one token, an odd length, a row longer than a SIMD vector with a tail, a single row.</summary>
    public static IReadOnlyList<(int B, int T)> Shapes { get; } = [(1, 1), (4, 7), (3, 67), (1, 130)];

    /// <summary>Every case for the dtypes given: variants × shapes in the plain form, plus the other input forms once per variant,
    /// then the entropy variants × shapes, their int64-mask form and one fully masked top-entropy case.</summary>
    public static IEnumerable<KernelGateCase> All(IReadOnlyList<ScalarType> dtypes)
    {
        foreach (var dtype in dtypes)
        {
            foreach (var (name, create) in Variants)
            {
                foreach (var (b, t) in Shapes)
                {
                    yield return new KernelGateCase(name, create(), b, t, dtype, "plain");
                }

                yield return new KernelGateCase(name, create(), 5, 19, dtype, "per-token-advantages");
                yield return new KernelGateCase(name, create(), 5, 19, dtype, "int64-mask");
            }

            yield return new KernelGateCase("vepa", Variants[^1].Create(), 3, 9, dtype, "fully-masked");
            foreach (var (name, create) in EntropyVariants)
            {
                foreach (var (b, t) in Shapes)
                {
                    yield return new KernelGateCase(name, create(), b, t, dtype, "plain");
                }

                yield return new KernelGateCase(name, create(), 5, 19, dtype, "int64-mask");
            }

            yield return new KernelGateCase("trl-top-entropy-0.2", EntropyVariants[3].Create(), 3, 9, dtype, "fully-masked");
        }
    }

    /// <summary>Seeded inputs for a case: log-probs in [−2.5, −0.05], old/reference/sampler nearby, NaN/±∞ padding at masked
    /// positions, completions of random lengths starting at random positions, one empty row when B &gt; 2.</summary>
    public static PolicyLossInputs Create(KernelGateCase c, int seed, Device device)
    {
        using var scope = NewDisposeScope();
        var rng = new Random(seed);
        int n = c.Batch * c.Time;
        var valid = new bool[n];
        for (int b = 0; b < c.Batch; b++)
        {
            if (c.Form == "fully-masked" || (c.Batch > 2 && b == 1))
            {
                continue;
            }

            int start = rng.Next(Math.Max(1, c.Time / 3));
            int end = Math.Min(c.Time, start + 1 + rng.Next(c.Time - start));
            for (int t = start; t < end; t++)
            {
                valid[(b * c.Time) + t] = true;
            }
        }

        double Normal() => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
        double[] logp = Fill(n, _ => -(0.05 + (2.45 * rng.NextDouble())));
        double[] old = Fill(n, i => logp[i] + (0.3 * Normal()));
        double[] reference = Fill(n, i => logp[i] + (0.4 * Normal()));
        double[] sampler = Fill(n, i => old[i] + (0.3 * Normal()));
        bool perToken = c.Form == "per-token-advantages";
        double[] advantages = Fill(perToken ? n : c.Batch, _ => rng.NextDouble() < 0.1 ? 0.0 : Normal());
        // Entropies in [0, 3) from their own stream, so adding them left every other input of the older cases unchanged.
        var entropyRng = new Random(seed ^ 0x5EED);
        double[] entropy = Fill(n, _ => 3.0 * entropyRng.NextDouble());
        double[] padding = [double.NaN, double.PositiveInfinity, double.NegativeInfinity];
        for (int i = 0; i < n; i++)
        {
            if (!valid[i])
            {
                logp[i] = padding[rng.Next(3)];
                old[i] = padding[rng.Next(3)];
                reference[i] = padding[rng.Next(3)];
                sampler[i] = padding[rng.Next(3)];
                entropy[i] = padding[entropyRng.Next(3)];
                if (perToken)
                {
                    advantages[i] = padding[rng.Next(3)];
                }
            }
        }

        Tensor Make(double[] values) => tensor(values).reshape(c.Batch, c.Time).to(c.Dtype).to(device);
        Tensor mask = tensor(valid).reshape(c.Batch, c.Time);
        var inputs = new PolicyLossInputs
        {
            LogProbs = Make(logp),
            Advantages = perToken ? Make(advantages) : tensor(advantages).to(c.Dtype).to(device),
            Mask = (c.Form == "int64-mask" ? mask.to(ScalarType.Int64) : mask).to(device),
            OldLogProbs = Make(old),
            ReferenceLogProbs = Make(reference),
            SamplerLogProbs = Make(sampler),
            Entropy = Make(entropy),
        };
        foreach (var t in new[] { inputs.LogProbs, inputs.Advantages, inputs.Mask, inputs.OldLogProbs, inputs.ReferenceLogProbs, inputs.SamplerLogProbs, inputs.Entropy })
        {
            t.MoveToOuterDisposeScope();
        }

        return inputs;
    }

    /// <summary>The same inputs in float64 (the reference's copy; padding stays padding).</summary>
    public static PolicyLossInputs ToFloat64(PolicyLossInputs inputs)
    {
        static Tensor? Wide(Tensor? t) => t?.to(ScalarType.Float64);
        return new PolicyLossInputs
        {
            LogProbs = Wide(inputs.LogProbs)!,
            Advantages = Wide(inputs.Advantages)!,
            Mask = inputs.Mask,
            OldLogProbs = Wide(inputs.OldLogProbs),
            ReferenceLogProbs = Wide(inputs.ReferenceLogProbs),
            SamplerLogProbs = Wide(inputs.SamplerLogProbs),
            Entropy = Wide(inputs.Entropy),
        };
    }

    private static double[] Fill(int n, Func<int, double> f) => Enumerable.Range(0, n).Select(f).ToArray();
}
