using System.Numerics;
using System.Runtime.CompilerServices;

namespace Vepa.Grpo;

/// <summary>
/// The vectorised sweep over one row of the managed policy-loss kernel, specialised at JIT time: the objective, ratio level,
/// KL estimator, sampler correction and whether rare settings are in use are type arguments, so each combination gets a
/// loop without the branches (and register shuffles) of the others.
/// </summary>
/// <typeparam name="T">float or double.</typeparam>
internal static unsafe class ManagedLossSweep<T>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    /// <summary>Vectors summed per lane in <typeparamref name="T"/> before the partial sums move to float64.</summary>
    private const int FlushEvery = 16;

    /// <summary>Sweeps <see cref="Arguments.Vectors"/> whole vectors of one row: ratio, objective, sampler weight, KL, the row's
    /// partial sums (added to <paramref name="row"/>) and dLoss/dlogp (written masked to <see cref="Arguments.Gradient"/>).</summary>
    /// <param name="args">The row's pointers and row-level values.</param>
    /// <param name="c">The options.</param>
    /// <param name="row">The row's float64 sums.</param>
    /// <param name="probe">Accumulates x − x of every input at valid lanes: stays 0 unless a value is NaN or infinite.</param>
    public static void Run(in Arguments args, in ManagedLossConstants<T> c, ref ManagedLossRow row, ref Vector<T> probe)
    {
        if (c.Cispo)
        {
            Ratio<On>(in args, in c, ref row, ref probe);
        }
        else
        {
            Ratio<Off>(in args, in c, ref row, ref probe);
        }
    }

    private static void Ratio<TCispo>(in Arguments args, in ManagedLossConstants<T> c, ref ManagedLossRow row, ref Vector<T> probe)
        where TCispo : struct, ISwitch
    {
        if (c.SequenceRatio)
        {
            Kl<TCispo, On>(in args, in c, ref row, ref probe);
        }
        else
        {
            Kl<TCispo, Off>(in args, in c, ref row, ref probe);
        }
    }

    private static void Kl<TCispo, TSequence>(in Arguments args, in ManagedLossConstants<T> c, ref ManagedLossRow row, ref Vector<T> probe)
        where TCispo : struct, ISwitch
        where TSequence : struct, ISwitch
    {
        if (!c.UseKl)
        {
            Sampler<TCispo, TSequence, NoKl>(in args, in c, ref row, ref probe);
        }
        else if (c.KlEstimator == KlEstimator.K3)
        {
            Sampler<TCispo, TSequence, K3>(in args, in c, ref row, ref probe);
        }
        else if (c.KlEstimator == KlEstimator.K2)
        {
            Sampler<TCispo, TSequence, K2>(in args, in c, ref row, ref probe);
        }
        else
        {
            Sampler<TCispo, TSequence, K1>(in args, in c, ref row, ref probe);
        }
    }

    private static void Sampler<TCispo, TSequence, TKl>(in Arguments args, in ManagedLossConstants<T> c, ref ManagedLossRow row, ref Vector<T> probe)
        where TCispo : struct, ISwitch
        where TSequence : struct, ISwitch
        where TKl : struct, IKlEstimator
    {
        if (c.Sampler != SamplerCorrectionMode.None)
        {
            Rare<TCispo, TSequence, TKl, On>(in args, in c, ref row, ref probe);
        }
        else
        {
            Rare<TCispo, TSequence, TKl, Off>(in args, in c, ref row, ref probe);
        }
    }

    private static void Rare<TCispo, TSequence, TKl, TSampler>(in Arguments args, in ManagedLossConstants<T> c, ref ManagedLossRow row, ref Vector<T> probe)
        where TCispo : struct, ISwitch
        where TSequence : struct, ISwitch
        where TKl : struct, IKlEstimator
        where TSampler : struct, ISwitch
    {
        if (c.HasRareSettings)
        {
            Sweep<TCispo, TSequence, TKl, TSampler, On>(in args, in c, ref row, ref probe);
        }
        else
        {
            Sweep<TCispo, TSequence, TKl, TSampler, Off>(in args, in c, ref row, ref probe);
        }
    }

    private static void Sweep<TCispo, TSequence, TKl, TSampler, TRare>(
        in Arguments args, in ManagedLossConstants<T> c, ref ManagedLossRow row, ref Vector<T> probe)
        where TCispo : struct, ISwitch
        where TSequence : struct, ISwitch
        where TKl : struct, IKlEstimator
        where TSampler : struct, ISwitch
        where TRare : struct, ISwitch
    {
        T* lp = args.LogProbs;
        T* old = args.OldLogProbs;
        T* refLp = args.ReferenceLogProbs;
        T* samp = args.SamplerLogProbs;
        T* advTok = TRare.IsOn && c.PerTokenAdvantages ? args.Advantages : null;
        T* lanes = args.Lanes;
        T* grad = args.Gradient;
        int vectors = args.Vectors;
        var negAdvRow = -args.RowAdvantage;
        var rowRatio = args.RowRatio;
        var rowSampler = args.RowSampler;
        var weight = args.Weight;
        var weightBeta = weight * c.Beta;

        var one = Vector<T>.One;
        var zero = Vector<T>.Zero;
        var half = c.Half;
        var clipLow = c.ClipLow;
        var clipHigh = c.ClipHigh;
        int width = Vector<T>.Count;

        // With one advantage per row, the sign conditions of the clip counts are applied per row at the flush.
        T rowAdvantage = args.RowAdvantage[0];
        var factors = new Flushed
        {
            Beta = double.CreateTruncating(c.Beta[0]),
            LowFactor = TRare.IsOn && c.PerTokenAdvantages ? 1.0 : rowAdvantage < T.Zero ? 1.0 : 0.0,
            HighFactor = TCispo.IsOn || (TRare.IsOn && c.PerTokenAdvantages) ? 1.0 : rowAdvantage > T.Zero ? 1.0 : 0.0,
        };

        var accPolicy = zero;
        var accRatio = zero;
        var accKl = zero;
        var accLow = zero;
        var accHigh = zero;
        var accDual = zero;
        var accSampler = zero;
        var accRatioGradient = zero;
        var accProbe = probe;

        // Chunks of FlushEvery vectors: the inner loop has no call, so the accumulators stay in registers.
        for (int chunk = 0; chunk < vectors; chunk += FlushEvery)
        {
            int chunkEnd = Math.Min(vectors, chunk + FlushEvery);
            for (int v = chunk; v < chunkEnd; v++)
            {
                int i = v * width;
                var valid = Vector.Load(lanes + i);
                var lpv = Vector.Load(lp + i);
                var oldv = Vector.Load(old + i);
                var negAdv = negAdvRow;
                if (TRare.IsOn && advTok is not null)
                {
                    var adv = Vector.Load(advTok + i);
                    accProbe += valid & (adv - adv);
                    negAdv = -adv;
                }

                // d − d is NaN exactly when the difference d is NaN or infinite (a non-finite input, or finite inputs whose
                // difference overflows): the same differences the fused kernel checks (log π − old, ref − log π, old − sampler).
                var x = lpv - oldv;
                var y = TKl.Enabled ? Vector.Load(refLp + i) - lpv : zero;
                if (TKl.Enabled && !TSequence.IsOn)
                {
                    accProbe += valid & ((x - x) + (y - y));
                }
                else if (TKl.Enabled || !TSequence.IsOn)
                {
                    var d = TKl.Enabled ? y : x;
                    accProbe += valid & (d - d);
                }

                // Ratio ρ and, per token, dρ/dlogp (the sequence ratio's gradient is gathered per row instead).
                Vector<T> rho;
                Vector<T> dRho;
                if (TSequence.IsOn)
                {
                    rho = rowRatio;
                    dRho = zero;
                }
                else
                {
                    var passes = Vector<T>.AllBitsSet;
                    if (TRare.IsOn && c.HasLogRatioClamp)
                    {
                        passes = Vector.GreaterThanOrEqual(x, c.NegLogRatioClamp) & Vector.LessThanOrEqual(x, c.LogRatioClamp);
                        x = Vector.ClampNative(x, c.NegLogRatioClamp, c.LogRatioClamp);
                    }

                    rho = ManagedVectorMath.Exp(x);
                    dRho = TRare.IsOn ? rho & passes : rho;
                }

                accRatio += valid & rho;

                // Policy term l and dl/dρ (clip family) or dl/dlogp (CISPO), with −A so no negation sits on the chain:
                // l = −min(ρ̂A, clip(ρ)A) = max(ρ̂·(−A), clip(ρ)·(−A)).
                Vector<T> policy;
                Vector<T> dPolicy;
                if (TCispo.IsOn)
                {
                    var over = Vector.GreaterThan(rho, clipHigh);
                    dPolicy = Vector.ConditionalSelect(over, clipHigh, rho) * negAdv;
                    policy = dPolicy * lpv;
                    accHigh += valid & over & one;
                }
                else
                {
                    var below = Vector.LessThan(rho, clipLow);
                    var above = Vector.GreaterThan(rho, clipHigh);
                    var unclipped = rho;
                    var dUnclipped = negAdv;
                    if (TRare.IsOn && c.HasDelta)
                    {
                        var overDelta = Vector.GreaterThan(rho, c.Delta);
                        unclipped = Vector.ConditionalSelect(overDelta, c.Delta, rho);
                        dUnclipped = Vector.AndNot(negAdv, overDelta);
                    }

                    var dClipped = Vector.AndNot(negAdv, below | above);
                    var q1 = unclipped * negAdv;
                    var q2 = Vector.ClampNative(rho, clipLow, clipHigh) * negAdv;
                    var firstLarger = Vector.GreaterThan(q1, q2);
                    var firstSmaller = Vector.LessThan(q1, q2);
                    policy = Vector.ConditionalSelect(firstLarger, q1, q2);

                    // torch.minimum splits the gradient half/half on ties.
                    dPolicy = Vector.ConditionalSelect(
                        firstLarger, dUnclipped, Vector.ConditionalSelect(firstSmaller, dClipped, half * (dUnclipped + dClipped)));
                    if (TRare.IsOn && c.HasDualClip)
                    {
                        var negative = Vector.GreaterThan(negAdv, zero);
                        var bound = negAdv * c.DualClip;
                        var over = Vector.GreaterThan(policy, bound);
                        var tie = Vector.Equals(policy, bound);
                        var active = negative & over;
                        policy = Vector.ConditionalSelect(active, bound, policy);
                        var share = Vector.ConditionalSelect(over, zero, Vector.ConditionalSelect(tie, half, one));
                        dPolicy *= Vector.ConditionalSelect(negative, share, one);
                        accDual += valid & active & one;
                    }

                    if (TRare.IsOn && c.PerTokenAdvantages)
                    {
                        accLow += valid & below & Vector.GreaterThan(negAdv, zero) & one;
                        accHigh += valid & above & Vector.LessThan(negAdv, zero) & one;
                    }
                    else
                    {
                        accLow += valid & below & one;
                        accHigh += valid & above & one;
                    }
                }

                // Sampler correction weight w (no gradient): per token from the sampler log-probs, or the row's weight.
                if (TSampler.IsOn)
                {
                    Vector<T> raw;
                    if (samp is null)
                    {
                        raw = rowSampler;
                    }
                    else
                    {
                        var z = oldv - Vector.Load(samp + i);
                        accProbe += valid & (z - z);
                        raw = ManagedVectorMath.Exp(z);
                    }

                    var under = Vector.LessThan(raw, c.SamplerMin);
                    var overMax = Vector.GreaterThan(raw, c.SamplerMax);
                    var outside = under | overMax;
                    var w = c.Sampler == SamplerCorrectionMode.Truncate
                        ? Vector.ClampNative(raw, c.SamplerMin, c.SamplerMax)
                        : Vector.AndNot(raw, outside);
                    accSampler += valid & outside & one;
                    policy *= w;
                    dPolicy *= w;
                }

                accPolicy += valid & policy;

                // KL penalty β·k: its value is summed separately (loss = Σ policy + β Σ k), its gradient weighted here.
                var gKl = zero;
                if (TKl.Enabled)
                {
                    var passes = Vector<T>.AllBitsSet;
                    if (TRare.IsOn && c.HasKlLogRatioClamp)
                    {
                        passes = Vector.GreaterThanOrEqual(y, c.NegKlLogRatioClamp) & Vector.LessThanOrEqual(y, c.KlLogRatioClamp);
                        y = Vector.ClampNative(y, c.NegKlLogRatioClamp, c.KlLogRatioClamp);
                    }

                    TKl.Evaluate(y, half, out var k, out var dk);
                    if (TRare.IsOn)
                    {
                        dk &= passes;
                        if (c.HasKlValueClamp)
                        {
                            var inRange = Vector.GreaterThanOrEqual(k, c.NegKlValueClamp) & Vector.LessThanOrEqual(k, c.KlValueClamp);
                            k = Vector.ClampNative(k, c.NegKlValueClamp, c.KlValueClamp);
                            dk &= inRange;
                        }
                    }

                    accKl += valid & k;
                    gKl = weightBeta * dk;
                }

                Vector<T> g;
                if (TCispo.IsOn)
                {
                    g = ManagedVectorMath.MultiplyAdd(dPolicy, weight, gKl);
                }
                else if (TSequence.IsOn)
                {
                    accRatioGradient += valid & (weight * dPolicy);
                    g = gKl;
                }
                else
                {
                    g = ManagedVectorMath.MultiplyAdd(dPolicy, weight * dRho, gKl);
                }

                if (grad is not null)
                {
                    Vector.Store(valid & g, grad + i);
                }
            }

            Flush(ref row, in factors, accPolicy, accRatio, accKl, accLow, accHigh, accDual, accSampler, accRatioGradient);
            accPolicy = accRatio = accKl = accLow = accHigh = accDual = accSampler = accRatioGradient = zero;
        }

        probe = accProbe;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Flush(
        ref ManagedLossRow row,
        in Flushed factors,
        Vector<T> policy,
        Vector<T> ratio,
        Vector<T> kl,
        Vector<T> low,
        Vector<T> high,
        Vector<T> dual,
        Vector<T> sampler,
        Vector<T> ratioGradient)
    {
        double klSum = double.CreateTruncating(Vector.Sum(kl));
        row.LossSum += double.CreateTruncating(Vector.Sum(policy)) + (factors.Beta * klSum);
        row.RatioSum += double.CreateTruncating(Vector.Sum(ratio));
        row.KlSum += klSum;
        row.ClipLow += factors.LowFactor * double.CreateTruncating(Vector.Sum(low));
        row.ClipHigh += factors.HighFactor * double.CreateTruncating(Vector.Sum(high));
        row.DualClip += double.CreateTruncating(Vector.Sum(dual));
        row.SamplerCorrected += double.CreateTruncating(Vector.Sum(sampler));
        row.RatioGradient += double.CreateTruncating(Vector.Sum(ratioGradient));
    }

    /// <summary>Row-level factors applied when partial sums move to float64.</summary>
    private struct Flushed
    {
        /// <summary>β (as the dtype rounds it).</summary>
        public double Beta;

        /// <summary>1 when the low-clip count needs no further advantage condition, 0 when the row's advantage excludes it.</summary>
        public double LowFactor;

        /// <summary>1 when the high-clip count needs no further advantage condition, 0 when the row's advantage excludes it.</summary>
        public double HighFactor;
    }

    /// <summary>A compile-time switch (a struct type argument, so the JIT folds it).</summary>
    internal interface ISwitch
    {
        static abstract bool IsOn { get; }
    }

    /// <summary>A KL estimator k(y) with y = log π_ref − log π, and dk/dlog π.</summary>
    internal interface IKlEstimator
    {
        static abstract bool Enabled { get; }

        static abstract void Evaluate(Vector<T> y, Vector<T> half, out Vector<T> k, out Vector<T> dk);
    }

    /// <summary>Switch on.</summary>
    internal readonly struct On : ISwitch
    {
        public static bool IsOn => true;
    }

    /// <summary>Switch off.</summary>
    internal readonly struct Off : ISwitch
    {
        public static bool IsOn => false;
    }

    /// <summary>No KL term (β = 0).</summary>
    internal readonly struct NoKl : IKlEstimator
    {
        public static bool Enabled => false;

        public static void Evaluate(Vector<T> y, Vector<T> half, out Vector<T> k, out Vector<T> dk)
        {
            k = Vector<T>.Zero;
            dk = Vector<T>.Zero;
        }
    }

    /// <summary>k1 = −y = log π − log π_ref; dk/dlog π = 1.</summary>
    internal readonly struct K1 : IKlEstimator
    {
        public static bool Enabled => true;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Evaluate(Vector<T> y, Vector<T> half, out Vector<T> k, out Vector<T> dk)
        {
            k = -y;
            dk = Vector<T>.One;
        }
    }

    /// <summary>k2 = ½ y²; dk/dlog π = −y.</summary>
    internal readonly struct K2 : IKlEstimator
    {
        public static bool Enabled => true;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Evaluate(Vector<T> y, Vector<T> half, out Vector<T> k, out Vector<T> dk)
        {
            k = y * y * half;
            dk = -y;
        }
    }

    /// <summary>k3 = e^y − y − 1; dk/dlog π = 1 − e^y.</summary>
    internal readonly struct K3 : IKlEstimator
    {
        public static bool Enabled => true;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Evaluate(Vector<T> y, Vector<T> half, out Vector<T> k, out Vector<T> dk)
        {
            var e = ManagedVectorMath.Exp(y);
            k = e - y - Vector<T>.One;
            dk = Vector<T>.One - e;
        }
    }

    /// <summary>The pointers (at the first token of the sweep) and row-level values of one sweep.</summary>
    internal struct Arguments
    {
        /// <summary>log π.</summary>
        public T* LogProbs;

        /// <summary>log π_old (the log-probs themselves when on-policy).</summary>
        public T* OldLogProbs;

        /// <summary>log π_ref, or null when β = 0.</summary>
        public T* ReferenceLogProbs;

        /// <summary>The sampler's log-probs for per-token weights, or null (off, or per sequence).</summary>
        public T* SamplerLogProbs;

        /// <summary>Per-token advantages, or null (the row's advantage).</summary>
        public T* Advantages;

        /// <summary>The lane masks of the row.</summary>
        public T* Lanes;

        /// <summary>Where dLoss/dlogp goes, or null.</summary>
        public T* Gradient;

        /// <summary>The number of whole vectors to sweep.</summary>
        public int Vectors;

        /// <summary>The row's advantage, broadcast.</summary>
        public Vector<T> RowAdvantage;

        /// <summary>The sequence ratio ρ_b (GSPO), broadcast.</summary>
        public Vector<T> RowRatio;

        /// <summary>The sequence sampler weight, broadcast.</summary>
        public Vector<T> RowSampler;

        /// <summary>The aggregation weight of the row's tokens, broadcast.</summary>
        public Vector<T> Weight;
    }
}
