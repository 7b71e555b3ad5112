using System.Numerics;
using System.Runtime.CompilerServices;

namespace Vepa.Grpo;

/// <summary>
/// The vectorised sweep over one row of the managed policy-loss kernel, specialised at JIT time: the objective, ratio level,
/// KL estimator, sampler correction and whether rare settings are in use are type arguments, so each combination gets a
/// loop without the branches (and register shuffles) of the others.
/// </summary>
/// <typeparam name="T">float or double.</typeparam>
[SkipLocalsInit]
internal static unsafe class ManagedLossSweep<T>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    /// <summary>Vectors summed per lane in <typeparamref name="T"/> before the partial sums move to float64.</summary>
    private const int FlushEvery = 32;

    /// <summary>Sweeps <see cref="Arguments.Vectors"/> whole vectors of one row: ratio, objective, sampler weight, KL, the row's
    /// partial sums (added to <paramref name="row"/>) and dLoss/dlogp (written masked to <see cref="Arguments.Gradient"/>).</summary>
    /// <param name="args">The row's pointers and row-level values.</param>
    /// <param name="c">The options.</param>
    /// <param name="row">The row's float64 sums.</param>
    /// <param name="probe">Accumulates d − d over the valid lanes of the differences (log π − old, ref − log π, old − sampler)
    /// and per-token advantages: stays 0 unless one of them is NaN or infinite.</param>
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
        // The sampler-weight specialisation also carries the top-entropy mask (both scale the policy term only).
        if (c.Sampler != SamplerCorrectionMode.None || args.PolicyTokenMask is not null)
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
        T* keep = args.PolicyTokenMask;
        T* grad = args.Gradient;
        int vectors = args.Vectors;
        var negAdvRow = -args.RowAdvantage;
        var negAdvWeightRow = negAdvRow * args.Weight;
        var halfNegAdvWeightRow = c.Half * negAdvWeightRow;
        var rowRatio = args.RowRatio;
        var rowSampler = args.RowSampler;
        var weight = args.Weight;
        var weightBeta = weight * c.Beta;
        var negWeightBeta = -weightBeta;

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

        // The exponentials of a chunk go through a small buffer: phase 1 is a loop of independent exp chains, phase 2 the
        // objective. Split this way, the out-of-order core overlaps far more of the long exp latency than in one loop body.
        bool ratioExp = !TSequence.IsOn;
        bool klExp = TKl.UsesExp;
        bool samplerExp = TSampler.IsOn && samp is not null;
        int chunkElements = FlushEvery * width;
        byte* storage = stackalloc byte[(3 * chunkElements * sizeof(T)) + 64];
        T* buffer = (T*)(((nuint)storage + 63) & ~(nuint)63);
        T* ratioBuffer = buffer;
        T* klBuffer = buffer + chunkElements;
        T* samplerBuffer = buffer + (2 * chunkElements);
        var expLimit = ManagedVectorMath.FastLimit<T>();

        var accPolicy = zero;
        var accRatio = zero;
        var accKl = zero;
        var accLow = zero;
        var accHigh = zero;
        var accDual = zero;
        var accSampler = zero;
        var accRatioGradient = zero;
        var accProbe = probe;

        for (int chunk = 0; chunk < vectors; chunk += FlushEvery)
        {
            int chunkEnd = Math.Min(vectors, chunk + FlushEvery);

            // Phase 1: the differences, their exponentials and the finiteness probe.
            // A difference d is checked only when its lanes leave the exponential's fast range: |d| ≤ limit fails for NaN
            // and ±inf too. Then d − d (NaN exactly when d is not finite: a non-finite input, or finite inputs whose
            // difference overflows; the same differences the fused kernel checks) goes into the probe, and lanes beyond
            // the fast range get the full-range exponential.
            for (int v = chunk; v < chunkEnd; v++)
            {
                int i = v * width;
                int k = (v - chunk) * width;
                var lpv = Vector.Load(lp + i);
                var x = zero;
                var y = zero;
                var xe = zero;
                var ye = zero;
                if (ratioExp)
                {
                    x = lpv - Vector.Load(old + i);
                    xe = TRare.IsOn && c.HasLogRatioClamp ? Vector.ClampNative(x, c.NegLogRatioClamp, c.LogRatioClamp) : x;
                }

                if (TKl.Enabled)
                {
                    y = Vector.Load(refLp + i) - lpv;
                    ye = TRare.IsOn && c.HasKlLogRatioClamp ? Vector.ClampNative(y, c.NegKlLogRatioClamp, c.KlLogRatioClamp) : y;
                }

                if (ratioExp || TKl.Enabled)
                {
                    var ratio = ratioExp ? ManagedVectorMath.ExpFast(xe) : zero;
                    var ky = klExp ? ManagedVectorMath.ExpFast(ye) : zero;

                    // |x| + |y| ≤ limit: both fast and finite (conservative: a lane it rejects is merely recomputed).
                    var magnitude = ratioExp && TKl.Enabled ? Vector.Abs(x) + Vector.Abs(y) : Vector.Abs(ratioExp ? x : y);
                    if (!Vector.LessThanOrEqualAll(magnitude, expLimit))
                    {
                        var valid = Vector.Load(lanes + i);
                        accProbe += valid & ((x - x) + (y - y));
                        ratio = ratioExp ? ManagedVectorMath.FixWide(xe, ratio) : ratio;
                        ky = klExp ? ManagedVectorMath.FixWide(ye, ky) : ky;
                    }

                    if (ratioExp)
                    {
                        Vector.Store(ratio, ratioBuffer + k);
                    }

                    if (klExp)
                    {
                        Vector.Store(ky, klBuffer + k);
                    }
                }

                if (samplerExp)
                {
                    var z = Vector.Load(old + i) - Vector.Load(samp + i);
                    var w = ManagedVectorMath.ExpFast(z);
                    if (!Vector.LessThanOrEqualAll(Vector.Abs(z), expLimit))
                    {
                        accProbe += Vector.Load(lanes + i) & (z - z);
                        w = ManagedVectorMath.FixWide(z, w);
                    }

                    Vector.Store(w, samplerBuffer + k);
                }

                if (TRare.IsOn && advTok is not null)
                {
                    var adv = Vector.Load(advTok + i);
                    accProbe += Vector.Load(lanes + i) & (adv - adv);
                }
            }

            // Phase 2: objective, sampler weight, KL, partial sums and the gradient.
            for (int v = chunk; v < chunkEnd; v++)
            {
                int i = v * width;
                int k = (v - chunk) * width;
                var valid = Vector.Load(lanes + i);
                var lpv = Vector.Load(lp + i);
                var negAdv = negAdvRow;
                var negAdvWeight = negAdvWeightRow;
                var halfNegAdvWeight = halfNegAdvWeightRow;
                if (TRare.IsOn && advTok is not null)
                {
                    negAdv = -Vector.Load(advTok + i);
                    negAdvWeight = negAdv * weight;
                    halfNegAdvWeight = half * negAdvWeight;
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
                    rho = Vector.Load(ratioBuffer + k);
                    dRho = rho;
                    if (TRare.IsOn && c.HasLogRatioClamp)
                    {
                        var x = lpv - Vector.Load(old + i);
                        dRho &= Vector.GreaterThanOrEqual(x, c.NegLogRatioClamp) & Vector.LessThanOrEqual(x, c.LogRatioClamp);
                    }
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
                    // The derivative is kept weighted: dPolicy = weight·dl/dρ (the row weight folded into −A).
                    var below = Vector.LessThan(rho, clipLow);
                    var above = Vector.GreaterThan(rho, clipHigh);
                    var unclipped = rho;
                    if (TRare.IsOn && c.HasDelta)
                    {
                        unclipped = Vector.ConditionalSelect(Vector.GreaterThan(rho, c.Delta), c.Delta, rho);
                    }

                    var q1 = unclipped * negAdv;
                    var q2 = Vector.ClampNative(rho, clipLow, clipHigh) * negAdv;
                    var firstLarger = Vector.GreaterThan(q1, q2);
                    var firstSmaller = Vector.LessThan(q1, q2);
                    policy = Vector.ConditionalSelect(firstLarger, q1, q2);

                    // torch.minimum splits the gradient half/half on ties; clamp passes it on the closed range.
                    if (TRare.IsOn && c.HasDelta)
                    {
                        var dUnclipped = Vector.AndNot(negAdvWeight, Vector.GreaterThan(rho, c.Delta));
                        var dClipped = Vector.AndNot(negAdvWeight, below | above);
                        dPolicy = Vector.ConditionalSelect(
                            firstLarger, dUnclipped, Vector.ConditionalSelect(firstSmaller, dClipped, half * (dUnclipped + dClipped)));
                    }
                    else
                    {
                        // Inside the range clip(ρ) = ρ, so the branches tie exactly and both pass −A; outside, a strictly
                        // smaller unclipped branch has the clipped (zero-gradient) branch's value winning, and an exact tie
                        // (A = 0, or products that round equal) gives half of −A.
                        var full = firstLarger | Vector.OnesComplement(below | above);
                        dPolicy = Vector.ConditionalSelect(full, negAdvWeight, Vector.AndNot(halfNegAdvWeight, firstSmaller));
                    }

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
                    if (c.Sampler != SamplerCorrectionMode.None)
                    {
                        var raw = samplerExp ? Vector.Load(samplerBuffer + k) : rowSampler;
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

                    // Top-entropy mask: all-bits lanes keep the policy term, zero lanes drop its value and gradient.
                    if (keep is not null)
                    {
                        var kept = Vector.Load(keep + i);
                        policy &= kept;
                        dPolicy &= kept;
                    }
                }

                accPolicy += valid & policy;

                // KL penalty β·k: its value is summed separately (loss = Σ policy + β Σ k), its gradient weighted here.
                var gKl = zero;
                if (TKl.Enabled)
                {
                    var y = Vector.Load(refLp + i) - lpv;
                    var passes = Vector<T>.AllBitsSet;
                    if (TRare.IsOn && c.HasKlLogRatioClamp)
                    {
                        passes = Vector.GreaterThanOrEqual(y, c.NegKlLogRatioClamp) & Vector.LessThanOrEqual(y, c.KlLogRatioClamp);
                        y = Vector.ClampNative(y, c.NegKlLogRatioClamp, c.KlLogRatioClamp);
                    }

                    var e = klExp ? Vector.Load(klBuffer + k) : zero;
                    TKl.Evaluate(y, e, half, weightBeta, negWeightBeta, out var kl, out gKl);
                    if (TRare.IsOn)
                    {
                        gKl &= passes;
                        if (c.HasKlValueClamp)
                        {
                            var inRange = Vector.GreaterThanOrEqual(kl, c.NegKlValueClamp) & Vector.LessThanOrEqual(kl, c.KlValueClamp);
                            kl = Vector.ClampNative(kl, c.NegKlValueClamp, c.KlValueClamp);
                            gKl &= inRange;
                        }
                    }

                    accKl += valid & kl;
                }

                Vector<T> g;
                if (TCispo.IsOn)
                {
                    g = ManagedVectorMath.MultiplyAdd(dPolicy, weight, gKl);
                }
                else if (TSequence.IsOn)
                {
                    accRatioGradient += valid & dPolicy;
                    g = gKl;
                }
                else
                {
                    g = ManagedVectorMath.MultiplyAdd(dPolicy, dRho, gKl);
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

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
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

    /// <summary>A KL estimator k(y) with y = log π_ref − log π, and its weighted gradient w·β·dk/dlog π.</summary>
    internal interface IKlEstimator
    {
        /// <summary>Gets a value indicating whether there is a KL term at all.</summary>
        static abstract bool Enabled { get; }

        /// <summary>Gets a value indicating whether the estimator needs e^y (computed in the sweep's first phase).</summary>
        static abstract bool UsesExp { get; }

        static abstract void Evaluate(Vector<T> y, Vector<T> expY, Vector<T> half, Vector<T> weightBeta, Vector<T> negWeightBeta, out Vector<T> k, out Vector<T> gradient);
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

        public static bool UsesExp => false;

        public static void Evaluate(Vector<T> y, Vector<T> expY, Vector<T> half, Vector<T> weightBeta, Vector<T> negWeightBeta, out Vector<T> k, out Vector<T> gradient)
        {
            k = Vector<T>.Zero;
            gradient = Vector<T>.Zero;
        }
    }

    /// <summary>k1 = −y = log π − log π_ref; dk/dlog π = 1.</summary>
    internal readonly struct K1 : IKlEstimator
    {
        public static bool Enabled => true;

        public static bool UsesExp => false;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Evaluate(Vector<T> y, Vector<T> expY, Vector<T> half, Vector<T> weightBeta, Vector<T> negWeightBeta, out Vector<T> k, out Vector<T> gradient)
        {
            k = -y;
            gradient = weightBeta;
        }
    }

    /// <summary>k2 = ½ y²; dk/dlog π = −y.</summary>
    internal readonly struct K2 : IKlEstimator
    {
        public static bool Enabled => true;

        public static bool UsesExp => false;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Evaluate(Vector<T> y, Vector<T> expY, Vector<T> half, Vector<T> weightBeta, Vector<T> negWeightBeta, out Vector<T> k, out Vector<T> gradient)
        {
            k = y * y * half;
            gradient = negWeightBeta * y;
        }
    }

    /// <summary>k3 = e^y − y − 1; dk/dlog π = 1 − e^y.</summary>
    internal readonly struct K3 : IKlEstimator
    {
        public static bool Enabled => true;

        public static bool UsesExp => true;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Evaluate(Vector<T> y, Vector<T> expY, Vector<T> half, Vector<T> weightBeta, Vector<T> negWeightBeta, out Vector<T> k, out Vector<T> gradient)
        {
            k = expY - y - Vector<T>.One;
            gradient = ManagedVectorMath.MultiplyAdd(negWeightBeta, expY, weightBeta);
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

        /// <summary>The lane masks of the top-entropy mask (policy term kept), or null when every token keeps it.</summary>
        public T* PolicyTokenMask;

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
