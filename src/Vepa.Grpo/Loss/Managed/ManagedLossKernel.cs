using System.Buffers;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace Vepa.Grpo;

/// <summary>
/// The single-pass managed policy-loss kernel over contiguous CPU memory of dtype <typeparamref name="T"/>.
/// </summary>
/// <remarks>
/// <para>Each row (sequence) is handled by one thread: a short pre-pass expands the mask row into lane masks (and, for
/// sequence-level ratios or sampler weights, sums the row's log-ratios), then one vectorised sweep computes ratio,
/// objective, KL, sampler weight, the row's loss sum and statistics and writes dLoss/dLogProbs. The row is in cache
/// for both passes. Rows are spread over a fixed partition of row blocks; every row keeps its own partial sums, and the
/// rows are reduced in row order, so the result does not depend on the thread schedule (bit-for-bit deterministic).</para>
/// <para>Sums are formed per lane in <typeparamref name="T"/> over at most <see cref="FlushEvery"/> vectors and then
/// carried in float64.</para>
/// </remarks>
/// <typeparam name="T">float or double.</typeparam>
internal sealed unsafe class ManagedLossKernel<T>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    /// <summary>Vectors summed per lane in <typeparamref name="T"/> before the partial sums move to float64.</summary>
    private const int FlushEvery = 16;

    /// <summary>About this many tokens make one block of rows for <see cref="Parallel.For(int, int, Action{int})"/>.</summary>
    private const int BlockTokens = 16 * 1024;

    /// <summary>Below this many tokens the kernel runs on the calling thread.</summary>
    private const long ParallelThreshold = 32 * 1024;

    private readonly ManagedLossPlan _plan;
    private readonly T* _logProbs;
    private readonly T* _old;
    private readonly T* _reference;
    private readonly T* _sampler;
    private readonly T* _advantages;
    private readonly byte* _maskBytes;
    private readonly T* _maskValues;
    private readonly T* _gradient;
    private readonly Constants _c;
    private long _totalValid;

    /// <summary>Initializes a new instance of the <see cref="ManagedLossKernel{T}"/> class.</summary>
    /// <param name="plan">The resolved options.</param>
    /// <param name="buffers">The zero-copy views of the tensors (null pointers for absent ones).</param>
    public ManagedLossKernel(ManagedLossPlan plan, in ManagedLossBuffers buffers)
    {
        _plan = plan;
        _logProbs = (T*)buffers.LogProbs;
        _old = (T*)buffers.OldLogProbs;
        _reference = plan.UseKl ? (T*)buffers.ReferenceLogProbs : null;
        _sampler = plan.Sampler != SamplerCorrectionMode.None ? (T*)buffers.SamplerLogProbs : null;
        _advantages = (T*)buffers.Advantages;
        _maskBytes = plan.ByteMask ? (byte*)buffers.Mask : null;
        _maskValues = plan.ByteMask ? null : (T*)buffers.Mask;
        _gradient = plan.NeedGradient ? (T*)buffers.Gradient : null;
        _c = new Constants(plan);
    }

    /// <summary>Runs the kernel: writes the gradient (when asked) and returns the loss and statistics.</summary>
    /// <returns>The loss value and statistics, and whether an input value is invalid (NaN or infinity at a valid position of a
    /// tensor the options use, or a float mask value other than 0/1); the loss and gradient are meaningless then.</returns>
    public (double Loss, PolicyLossStatistics Statistics, bool InvalidInput) Run()
    {
        int rows = _plan.Rows;
        int cols = _plan.Columns;
        var results = new ManagedLossRow[rows];

        if (_plan.Aggregation == LossAggregation.TokenMean)
        {
            _totalValid = CountAllValid();
        }

        int rowsPerBlock = Math.Max(1, BlockTokens / Math.Max(1, cols));
        int blocks = (rows + rowsPerBlock - 1) / rowsPerBlock;
        if (blocks <= 1 || (long)rows * cols < ParallelThreshold)
        {
            ProcessRows(0, rows, results);
        }
        else
        {
            Parallel.For(0, blocks, block =>
            {
                int start = block * rowsPerBlock;
                ProcessRows(start, Math.Min(rows, start + rowsPerBlock), results);
            });
        }

        bool invalid = HasInvalidInput(results);
        var (loss, statistics) = Reduce(results);
        return (loss, statistics, invalid);
    }

    private long CountAllValid()
    {
        int cols = _plan.Columns;
        long total = 0;
        for (int b = 0; b < _plan.Rows; b++)
        {
            long offset = (long)b * cols;
            total += _maskBytes is not null
                ? ManagedVectorMath.CountNonZero(new ReadOnlySpan<byte>(_maskBytes + offset, cols))
                : ManagedVectorMath.CountNonZero(new ReadOnlySpan<T>(_maskValues + offset, cols));
        }

        return total;
    }

    private void ProcessRows(int start, int end, ManagedLossRow[] results)
    {
        int laneLength = ManagedVectorMath.RoundUp(Math.Max(1, _plan.Columns), Vector<T>.Count);
        T[] lanes = ArrayPool<T>.Shared.Rent(laneLength);
        try
        {
            for (int b = start; b < end; b++)
            {
                ProcessRow(b, lanes.AsSpan(0, laneLength), ref results[b]);
            }
        }
        finally
        {
            ArrayPool<T>.Shared.Return(lanes);
        }
    }

    private double RowWeight(int count) => _plan.Aggregation switch
    {
        LossAggregation.SequenceMeanTokenMean => 1.0 / ((double)_plan.Rows * Math.Max(1, count)),
        LossAggregation.TokenMean => 1.0 / Math.Max(1, _totalValid),
        LossAggregation.ConstantNormalizer => 1.0 / ((double)_plan.Rows * _plan.MaxLength),
        _ => 1.0,
    };

    private void ProcessRow(int b, Span<T> lanes, ref ManagedLossRow row)
    {
        int n = _plan.Columns;
        long offset = (long)b * n;
        T* lp = _logProbs + offset;
        T* old = _old is null ? lp : _old + offset;
        T* refLp = _reference is null ? null : _reference + offset;
        T* samp = _sampler is null ? null : _sampler + offset;
        T* advTok = _plan.PerTokenAdvantages ? _advantages + offset : null;
        T* grad = _gradient is null ? null : _gradient + offset;

        bool suspicious = false;
        int count = _maskBytes is not null
            ? ManagedVectorMath.ExpandByteMask(new ReadOnlySpan<byte>(_maskBytes + offset, n), lanes)
            : ManagedVectorMath.ExpandValueMask(new ReadOnlySpan<T>(_maskValues + offset, n), lanes, out suspicious);
        row.Count = count;

        double weight = RowWeight(count);
        var c = _c;
        T advRow = _plan.PerTokenAdvantages ? T.Zero : _advantages[b];
        suspicious |= !_plan.PerTokenAdvantages && count > 0 && !T.IsFinite(advRow);

        // Row-level quantities: the sequence ratio (GSPO) and the sequence sampler weight.
        var rowRatio = Vector<T>.One;
        var rowSampler = Vector<T>.One;
        if (_plan.SequenceRatio || (samp is not null && _plan.SamplerPerSequence))
        {
            var (logRatioSum, samplerSum, bad) = RowSums(lp, old, samp, lanes, n);
            suspicious |= bad;
            if (_plan.SequenceRatio)
            {
                rowRatio = new Vector<T>(T.Exp(T.CreateTruncating(logRatioSum / Math.Max(1, count))));
            }

            if (samp is not null && _plan.SamplerPerSequence)
            {
                rowSampler = new Vector<T>(T.Exp(T.CreateTruncating(samplerSum)));
            }
        }

        var acc = default(Accumulators);
        var wt = new Vector<T>(T.CreateTruncating(weight));
        var advVec = new Vector<T>(advRow);
        int width = Vector<T>.Count;
        ref T laneRef = ref lanes[0];
        int i = 0;
        int pending = 0;
        for (; i + width <= n; i += width)
        {
            var valid = Vector.LoadUnsafe(ref laneRef, (nuint)i);
            var lpv = Vector.Load(lp + i);
            var oldv = _old is null ? lpv : Vector.Load(old + i);
            var refv = refLp is null ? default : Vector.Load(refLp + i);
            var sampv = samp is null || _plan.SamplerPerSequence ? default : Vector.Load(samp + i);
            var advv = advTok is null ? advVec : Vector.Load(advTok + i);
            var g = Step(lpv, oldv, refv, sampv, advv, valid, rowRatio, rowSampler, wt, in c, ref acc);
            if (grad is not null)
            {
                Vector.Store(valid & g, grad + i);
            }

            if (++pending == FlushEvery)
            {
                Flush(ref acc, ref row);
                pending = 0;
            }
        }

        if (i < n)
        {
            // The last partial vector goes through the same code from zero-padded copies; its padding lanes are invalid.
            int r = n - i;
            T* tmp = stackalloc T[6 * width];
            new Span<T>(tmp, 6 * width).Clear();
            new ReadOnlySpan<T>(lp + i, r).CopyTo(new Span<T>(tmp, r));
            new ReadOnlySpan<T>(old + i, r).CopyTo(new Span<T>(tmp + width, r));
            if (refLp is not null)
            {
                new ReadOnlySpan<T>(refLp + i, r).CopyTo(new Span<T>(tmp + (2 * width), r));
            }

            if (samp is not null)
            {
                new ReadOnlySpan<T>(samp + i, r).CopyTo(new Span<T>(tmp + (3 * width), r));
            }

            if (advTok is not null)
            {
                new ReadOnlySpan<T>(advTok + i, r).CopyTo(new Span<T>(tmp + (4 * width), r));
            }

            var valid = Vector.LoadUnsafe(ref laneRef, (nuint)i);
            var advv = advTok is null ? advVec : Vector.Load(tmp + (4 * width));
            var g = Step(Vector.Load(tmp), Vector.Load(tmp + width), Vector.Load(tmp + (2 * width)), Vector.Load(tmp + (3 * width)), advv, valid, rowRatio, rowSampler, wt, in c, ref acc);
            if (grad is not null)
            {
                Vector.Store(valid & g, tmp + (5 * width));
                new ReadOnlySpan<T>(tmp + (5 * width), r).CopyTo(new Span<T>(grad + i, r));
            }
        }

        Flush(ref acc, ref row);
        suspicious |= !T.IsFinite(Vector.Sum(acc.Probe));
        row.MaybeNonFinite = suspicious;

        if (_plan.SequenceRatio && !_plan.Cispo && grad is not null && count > 0)
        {
            // dLoss/dlogp_t = (dLoss/dρ_b) · ρ_b · M_t / max(1, Σ M), zero where the per-token log-ratio clamp was active
            // (added to the per-token KL part already written).
            double dRatio = row.RatioGradient;
            double coefficient = dRatio * double.CreateTruncating(rowRatio[0]) / count;
            AddRatioGradient(lp, old, grad, lanes, n, T.CreateTruncating(coefficient), in c);
        }
    }

    private static void AddRatioGradient(T* lp, T* old, T* grad, Span<T> lanes, int n, T value, in Constants c)
    {
        var v = new Vector<T>(value);
        int width = Vector<T>.Count;
        int i = 0;
        for (; i + width <= n; i += width)
        {
            var take = new Vector<T>(lanes[i..]);
            if (c.HasLogRatioClamp)
            {
                var x = Vector.Load(lp + i) - Vector.Load(old + i);
                take &= Vector.GreaterThanOrEqual(x, c.NegLogRatioClamp) & Vector.LessThanOrEqual(x, c.LogRatioClamp);
            }

            Vector.Store(Vector.Load(grad + i) + (take & v), grad + i);
        }

        for (; i < n; i++)
        {
            bool take = lanes[i] != T.Zero;
            if (c.HasLogRatioClamp)
            {
                T x = lp[i] - old[i];
                take &= x >= -c.LogRatioClampScalar && x <= c.LogRatioClampScalar;
            }

            if (take)
            {
                grad[i] += value;
            }
        }
    }

    private (double LogRatioSum, double SamplerSum, bool Suspicious) RowSums(T* lp, T* old, T* samp, Span<T> lanes, int n)
    {
        bool wantRatio = _plan.SequenceRatio;
        bool wantSampler = samp is not null && _plan.SamplerPerSequence;
        var accRatio = Vector<T>.Zero;
        var accSampler = Vector<T>.Zero;
        var probe = Vector<T>.Zero;
        double ratioSum = 0;
        double samplerSum = 0;
        int width = Vector<T>.Count;
        int i = 0;
        int pending = 0;
        for (; i + width <= n; i += width)
        {
            var valid = new Vector<T>(lanes[i..]);
            var oldv = Vector.Load(old + i);
            if (wantRatio)
            {
                var x = Vector.Load(lp + i) - oldv;
                probe += valid & (x - x);
                if (_c.HasLogRatioClamp)
                {
                    x = Vector.ConditionalSelect(Vector.LessThan(x, _c.NegLogRatioClamp), _c.NegLogRatioClamp, x);
                    x = Vector.ConditionalSelect(Vector.GreaterThan(x, _c.LogRatioClamp), _c.LogRatioClamp, x);
                }

                accRatio += valid & x;
            }

            if (wantSampler)
            {
                var z = oldv - Vector.Load(samp + i);
                probe += valid & (z - z);
                accSampler += valid & z;
            }

            if (++pending == FlushEvery)
            {
                ratioSum += double.CreateTruncating(Vector.Sum(accRatio));
                samplerSum += double.CreateTruncating(Vector.Sum(accSampler));
                accRatio = Vector<T>.Zero;
                accSampler = Vector<T>.Zero;
                pending = 0;
            }
        }

        ratioSum += double.CreateTruncating(Vector.Sum(accRatio));
        samplerSum += double.CreateTruncating(Vector.Sum(accSampler));
        bool suspicious = !T.IsFinite(Vector.Sum(probe));
        for (; i < n; i++)
        {
            if (lanes[i] == T.Zero)
            {
                continue;
            }

            if (wantRatio)
            {
                T x = lp[i] - old[i];
                suspicious |= !T.IsFinite(x);
                if (_c.HasLogRatioClamp)
                {
                    x = T.Clamp(x, -_c.LogRatioClampScalar, _c.LogRatioClampScalar);
                }

                ratioSum += double.CreateTruncating(x);
            }

            if (wantSampler)
            {
                T z = old[i] - samp[i];
                suspicious |= !T.IsFinite(z);
                samplerSum += double.CreateTruncating(z);
            }
        }

        return (ratioSum, samplerSum, suspicious);
    }

    /// <summary>One vector of tokens: updates the accumulators and returns dLoss/dlogp (before masking).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<T> Step(
        Vector<T> lp,
        Vector<T> old,
        Vector<T> refLp,
        Vector<T> samp,
        Vector<T> adv,
        Vector<T> valid,
        Vector<T> rowRatio,
        Vector<T> rowSampler,
        Vector<T> weight,
        in Constants c,
        ref Accumulators acc)
    {
        var one = Vector<T>.One;
        var zero = Vector<T>.Zero;

        // Ratio ρ and, per token, dρ/dlogp.
        Vector<T> rho;
        Vector<T> dRho;
        if (c.SequenceRatio)
        {
            rho = rowRatio;
            dRho = zero;
        }
        else
        {
            var x = lp - old;
            acc.Probe += valid & (x - x);
            var passes = Vector<T>.AllBitsSet;
            if (c.HasLogRatioClamp)
            {
                passes = Vector.GreaterThanOrEqual(x, c.NegLogRatioClamp) & Vector.LessThanOrEqual(x, c.LogRatioClamp);
                x = Vector.ConditionalSelect(Vector.LessThan(x, c.NegLogRatioClamp), c.NegLogRatioClamp, x);
                x = Vector.ConditionalSelect(Vector.GreaterThan(x, c.LogRatioClamp), c.LogRatioClamp, x);
            }

            rho = ManagedVectorMath.Exp(x);
            dRho = rho & passes;
        }

        acc.Ratio += valid & rho;

        // Policy term l_pg and its derivative: w.r.t. logp directly (CISPO), through ρ per token, or w.r.t. ρ_b (GSPO).
        Vector<T> policy;
        Vector<T> dPolicy;
        if (c.Cispo)
        {
            var capped = Vector.ConditionalSelect(Vector.GreaterThan(rho, c.ClipHigh), c.ClipHigh, rho);
            var negRatioAdv = -capped * adv;
            policy = negRatioAdv * lp;
            dPolicy = negRatioAdv;
            acc.ClipHigh += valid & Vector.GreaterThan(rho, c.ClipHigh) & one;
        }
        else
        {
            var below = Vector.LessThan(rho, c.ClipLow);
            var above = Vector.GreaterThan(rho, c.ClipHigh);
            var clipped = Vector.ConditionalSelect(below, c.ClipLow, Vector.ConditionalSelect(above, c.ClipHigh, rho));
            var unclipped = rho;
            var dUnclipped = adv;
            if (c.HasDelta)
            {
                var overDelta = Vector.GreaterThan(rho, c.Delta);
                unclipped = Vector.ConditionalSelect(overDelta, c.Delta, rho);
                dUnclipped = Vector.AndNot(adv, overDelta);
            }

            var dClipped = Vector.AndNot(adv, below | above);
            var p1 = unclipped * adv;
            var p2 = clipped * adv;
            var lt = Vector.LessThan(p1, p2);
            var gt = Vector.GreaterThan(p1, p2);

            // torch.min splits the gradient half/half on ties.
            var dMin = Vector.ConditionalSelect(lt, dUnclipped, Vector.ConditionalSelect(gt, dClipped, c.Half * (dUnclipped + dClipped)));
            policy = -Vector.ConditionalSelect(lt, p1, p2);
            var dPolicyRatio = -dMin;
            var negAdv = Vector.LessThan(adv, zero);
            if (c.HasDualClip)
            {
                var bound = -(adv * c.DualClip);
                var over = Vector.GreaterThan(policy, bound);
                var tie = Vector.Equals(policy, bound);
                var active = negAdv & over;
                policy = Vector.ConditionalSelect(active, bound, policy);
                var factor = Vector.ConditionalSelect(over, zero, Vector.ConditionalSelect(tie, c.Half, one));
                dPolicyRatio *= Vector.ConditionalSelect(negAdv, factor, one);
                acc.DualClip += valid & active & one;
            }

            dPolicy = c.SequenceRatio ? dPolicyRatio : dPolicyRatio * dRho;
            acc.ClipLow += valid & below & negAdv & one;
            acc.ClipHigh += valid & above & Vector.GreaterThan(adv, zero) & one;
        }

        // Sampler correction weight w (no gradient).
        if (c.Sampler != SamplerCorrectionMode.None)
        {
            Vector<T> raw;
            if (c.SamplerPerSequence)
            {
                raw = rowSampler;
            }
            else
            {
                var z = old - samp;
                acc.Probe += valid & (z - z);
                raw = ManagedVectorMath.Exp(z);
            }

            var outside = Vector.LessThan(raw, c.SamplerMin) | Vector.GreaterThan(raw, c.SamplerMax);
            var w = c.Sampler == SamplerCorrectionMode.Truncate
                ? Vector.ConditionalSelect(Vector.LessThan(raw, c.SamplerMin), c.SamplerMin, Vector.ConditionalSelect(Vector.GreaterThan(raw, c.SamplerMax), c.SamplerMax, raw))
                : Vector.AndNot(raw, outside);
            acc.Sampler += valid & outside & one;
            policy *= w;
            dPolicy *= w;
        }

        // KL penalty β·k and its derivative w.r.t. logp.
        var loss = policy;
        var dKl = zero;
        if (c.UseKl)
        {
            var y = refLp - lp;
            acc.Probe += valid & (y - y);
            var passes = Vector<T>.AllBitsSet;
            if (c.HasKlLogRatioClamp)
            {
                passes = Vector.GreaterThanOrEqual(y, c.NegKlLogRatioClamp) & Vector.LessThanOrEqual(y, c.KlLogRatioClamp);
                y = Vector.ConditionalSelect(Vector.LessThan(y, c.NegKlLogRatioClamp), c.NegKlLogRatioClamp, y);
                y = Vector.ConditionalSelect(Vector.GreaterThan(y, c.KlLogRatioClamp), c.KlLogRatioClamp, y);
            }

            Vector<T> k;
            Vector<T> dk;
            switch (c.KlEstimator)
            {
                case KlEstimator.K1:
                    k = -y;
                    dk = one;
                    break;
                case KlEstimator.K2:
                    k = y * y * c.Half;
                    dk = -y;
                    break;
                default:
                    var e = ManagedVectorMath.Exp(y);
                    k = e - y - one;
                    dk = one - e;
                    break;
            }

            dk &= passes;
            if (c.HasKlValueClamp)
            {
                var inRange = Vector.GreaterThanOrEqual(k, c.NegKlValueClamp) & Vector.LessThanOrEqual(k, c.KlValueClamp);
                k = Vector.ConditionalSelect(Vector.LessThan(k, c.NegKlValueClamp), c.NegKlValueClamp, k);
                k = Vector.ConditionalSelect(Vector.GreaterThan(k, c.KlValueClamp), c.KlValueClamp, k);
                dk &= inRange;
            }

            acc.Kl += valid & k;
            loss += c.Beta * k;
            dKl = c.Beta * dk;
        }

        acc.Loss += valid & loss;
        if (c.SequenceRatio && !c.Cispo)
        {
            acc.RatioGradient += valid & (weight * dPolicy);
            return weight * dKl;
        }

        return weight * (dPolicy + dKl);
    }

    private static void Flush(ref Accumulators acc, ref ManagedLossRow row)
    {
        row.LossSum += double.CreateTruncating(Vector.Sum(acc.Loss));
        row.RatioSum += double.CreateTruncating(Vector.Sum(acc.Ratio));
        row.KlSum += double.CreateTruncating(Vector.Sum(acc.Kl));
        row.ClipLow += double.CreateTruncating(Vector.Sum(acc.ClipLow));
        row.ClipHigh += double.CreateTruncating(Vector.Sum(acc.ClipHigh));
        row.DualClip += double.CreateTruncating(Vector.Sum(acc.DualClip));
        row.SamplerCorrected += double.CreateTruncating(Vector.Sum(acc.Sampler));
        row.RatioGradient += double.CreateTruncating(Vector.Sum(acc.RatioGradient));
        var probe = acc.Probe;
        acc = default;
        acc.Probe = probe;
    }

    private (double Loss, PolicyLossStatistics Statistics) Reduce(ManagedLossRow[] results)
    {
        double loss = 0, ratio = 0, kl = 0, low = 0, high = 0, dual = 0, sampler = 0;
        long tokens = 0;
        for (int b = 0; b < results.Length; b++)
        {
            ref readonly var row = ref results[b];
            loss += row.LossSum * RowWeight(row.Count);
            ratio += row.RatioSum;
            kl += row.KlSum;
            low += row.ClipLow;
            high += row.ClipHigh;
            dual += row.DualClip;
            sampler += row.SamplerCorrected;
            tokens += row.Count;
        }

        double perToken = tokens > 0 ? 1.0 / tokens : 0.0;
        var statistics = new PolicyLossStatistics(
            ClipFractionLow: low * perToken,
            ClipFractionHigh: high * perToken,
            DualClipFraction: dual * perToken,
            MeanRatio: ratio * perToken,
            MeanKl: _plan.UseKl ? kl * perToken : 0.0,
            SamplerCorrectionFraction: sampler * perToken,
            TokenCount: tokens);
        return (loss, statistics);
    }

    /// <summary>The sweep only flags rows that may hold a bad value (a log-ratio can also overflow from finite inputs);
    /// this scans the flagged rows exactly.</summary>
    private bool HasInvalidInput(ManagedLossRow[] results)
    {
        int n = _plan.Columns;
        for (int b = 0; b < results.Length; b++)
        {
            if (!results[b].MaybeNonFinite)
            {
                continue;
            }

            if (!_plan.PerTokenAdvantages && results[b].Count > 0 && !T.IsFinite(_advantages[b]))
            {
                return true;
            }

            long offset = (long)b * n;
            for (int t = 0; t < n; t++)
            {
                long at = offset + t;
                if (_maskValues is not null && _maskValues[at] != T.Zero && _maskValues[at] != T.One)
                {
                    return true;
                }

                bool valid = _maskBytes is not null ? _maskBytes[at] != 0 : _maskValues[at] != T.Zero;
                if (valid && (NonFinite(_logProbs, at) || NonFinite(_old, at) || NonFinite(_reference, at) || NonFinite(_sampler, at)
                    || (_plan.PerTokenAdvantages && NonFinite(_advantages, at))))
                {
                    return true;
                }
            }
        }

        return false;
    }

    private static bool NonFinite(T* data, long at) => data is not null && !T.IsFinite(data[at]);

    /// <summary>Per-lane partial sums of one row.</summary>
    private struct Accumulators
    {
        public Vector<T> Loss;
        public Vector<T> Ratio;
        public Vector<T> Kl;
        public Vector<T> ClipLow;
        public Vector<T> ClipHigh;
        public Vector<T> DualClip;
        public Vector<T> Sampler;
        public Vector<T> RatioGradient;
        public Vector<T> Probe;
    }

    /// <summary>The options as broadcast vectors of <typeparamref name="T"/> (scalars rounded to T once, as a tensor op does).</summary>
    private readonly struct Constants
    {
        public Constants(ManagedLossPlan plan)
        {
            Cispo = plan.Cispo;
            SequenceRatio = plan.SequenceRatio;
            ClipLow = Broadcast(plan.ClipLow);
            ClipHigh = Broadcast(plan.ClipHigh);
            HasDelta = plan.Delta.HasValue;
            Delta = Broadcast(plan.Delta ?? 0);
            HasDualClip = plan.DualClip.HasValue;
            DualClip = Broadcast(plan.DualClip ?? 0);
            HasLogRatioClamp = plan.LogRatioClamp.HasValue;
            LogRatioClampScalar = T.CreateTruncating(plan.LogRatioClamp ?? 0);
            LogRatioClamp = new Vector<T>(LogRatioClampScalar);
            NegLogRatioClamp = -LogRatioClamp;
            UseKl = plan.UseKl;
            Beta = Broadcast(plan.Beta);
            KlEstimator = plan.KlEstimator;
            HasKlLogRatioClamp = plan.KlLogRatioClamp.HasValue;
            KlLogRatioClamp = Broadcast(plan.KlLogRatioClamp ?? 0);
            NegKlLogRatioClamp = -KlLogRatioClamp;
            HasKlValueClamp = plan.KlValueClamp.HasValue;
            KlValueClamp = Broadcast(plan.KlValueClamp ?? 0);
            NegKlValueClamp = -KlValueClamp;
            Sampler = plan.Sampler;
            SamplerPerSequence = plan.SamplerPerSequence;
            SamplerMin = Broadcast(plan.SamplerMin);
            SamplerMax = Broadcast(plan.SamplerMax);
            Half = Broadcast(0.5);
        }

        public bool Cispo { get; }

        public bool SequenceRatio { get; }

        public Vector<T> ClipLow { get; }

        public Vector<T> ClipHigh { get; }

        public bool HasDelta { get; }

        public Vector<T> Delta { get; }

        public bool HasDualClip { get; }

        public Vector<T> DualClip { get; }

        public bool HasLogRatioClamp { get; }

        public T LogRatioClampScalar { get; }

        public Vector<T> LogRatioClamp { get; }

        public Vector<T> NegLogRatioClamp { get; }

        public bool UseKl { get; }

        public Vector<T> Beta { get; }

        public KlEstimator KlEstimator { get; }

        public bool HasKlLogRatioClamp { get; }

        public Vector<T> KlLogRatioClamp { get; }

        public Vector<T> NegKlLogRatioClamp { get; }

        public bool HasKlValueClamp { get; }

        public Vector<T> KlValueClamp { get; }

        public Vector<T> NegKlValueClamp { get; }

        public SamplerCorrectionMode Sampler { get; }

        public bool SamplerPerSequence { get; }

        public Vector<T> SamplerMin { get; }

        public Vector<T> SamplerMax { get; }

        public Vector<T> Half { get; }

        private static Vector<T> Broadcast(double value) => new(T.CreateTruncating(value));
    }
}
