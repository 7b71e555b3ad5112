using System.Buffers;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Vepa.Grpo;

/// <summary>
/// The single-pass managed policy-loss kernel over contiguous CPU memory of dtype <typeparamref name="T"/>.
/// </summary>
/// <remarks>
/// <para>Each row (sequence) is handled by one thread: a short pre-pass expands the mask row into lane masks (and, for
/// sequence-level ratios or sampler weights, sums the row's log-ratios), then one vectorised sweep
/// (<see cref="ManagedLossSweep{T}"/>) computes ratio, objective, KL, sampler weight, the row's loss sum and statistics and
/// writes dLoss/dLogProbs; the row stays in cache between the two. Rows are spread over a fixed partition of row blocks;
/// every row keeps its own partial sums, and the rows are reduced in row order, so the result does not depend on the
/// thread schedule (bit-for-bit deterministic), and every lane is computed on its own, so masked-out padding cannot change
/// a valid token's result.</para>
/// <para>Sums are formed per lane in <typeparamref name="T"/> over a few dozen vectors and then carried in float64.</para>
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
    private readonly byte* _policyTokenMask;
    private readonly ManagedLossConstants<T> _c;
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
        _policyTokenMask = (byte*)buffers.PolicyTokenMask;
        _c = new ManagedLossConstants<T>(plan);
    }

    /// <summary>Runs the kernel: writes the gradient (when asked) and returns the loss and statistics.</summary>
    /// <returns>The loss value and statistics, and whether an input value is invalid (NaN or infinity at a valid position of a
    /// tensor the options use, or a float mask value other than 0/1); the loss and gradient are meaningless then.</returns>
    public (double Loss, PolicyLossStatistics Statistics, bool InvalidInput) Run()
    {
        int rows = _plan.Rows;
        ManagedLossRow[] rented = ArrayPool<ManagedLossRow>.Shared.Rent(rows);
        try
        {
            return Run(new ArraySegment<ManagedLossRow>(rented, 0, rows));
        }
        finally
        {
            ArrayPool<ManagedLossRow>.Shared.Return(rented);
        }
    }

    private (double Loss, PolicyLossStatistics Statistics, bool InvalidInput) Run(ArraySegment<ManagedLossRow> results)
    {
        int rows = _plan.Rows;
        int cols = _plan.Columns;
        results.AsSpan().Clear();

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

    private void ProcessRows(int start, int end, ArraySegment<ManagedLossRow> results)
    {
        // The lane masks live in cache-line-aligned native memory, so no vector load of them straddles two lines.
        int laneLength = ManagedVectorMath.RoundUp(Math.Max(1, _plan.Columns), Vector<T>.Count);
        T* lanePointer = (T*)NativeMemory.AlignedAlloc((nuint)laneLength * (nuint)sizeof(T), 64);
        T* keepPointer = _policyTokenMask is null ? null : (T*)NativeMemory.AlignedAlloc((nuint)laneLength * (nuint)sizeof(T), 64);
        try
        {
            var lanes = new Span<T>(lanePointer, laneLength);
            if (keepPointer is not null)
            {
                // Padding lanes stay 0 (dropped); the valid-lane mask excludes them anyway.
                new Span<T>(keepPointer, laneLength).Clear();
            }

            for (int b = start; b < end; b++)
            {
                if (keepPointer is not null)
                {
                    int n = _plan.Columns;
                    ManagedVectorMath.ExpandByteMask(new ReadOnlySpan<byte>(_policyTokenMask + ((long)b * n), n), new Span<T>(keepPointer, laneLength));
                }

                ProcessRow(b, lanes, lanePointer, keepPointer, ref results.AsSpan()[b]);
            }
        }
        finally
        {
            NativeMemory.AlignedFree(lanePointer);
            if (keepPointer is not null)
            {
                NativeMemory.AlignedFree(keepPointer);
            }
        }
    }

    private double RowWeight(int count) => _plan.Aggregation switch
    {
        LossAggregation.SequenceMeanTokenMean => 1.0 / ((double)_plan.Rows * Math.Max(1, count)),
        LossAggregation.TokenMean => 1.0 / Math.Max(1, _totalValid),
        LossAggregation.ConstantNormalizer => 1.0 / ((double)_plan.Rows * _plan.MaxLength),
        _ => 1.0,
    };

    private void ProcessRow(int b, Span<T> lanes, T* lanePointer, T* keepPointer, ref ManagedLossRow row)
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

        var probe = Vector<T>.Zero;
        int width = Vector<T>.Count;
        int whole = n / width;
        var args = new ManagedLossSweep<T>.Arguments
        {
            LogProbs = lp,
            OldLogProbs = old,
            ReferenceLogProbs = refLp,
            SamplerLogProbs = _plan.SamplerPerSequence ? null : samp,
            Advantages = advTok,
            Lanes = lanePointer,
            PolicyTokenMask = keepPointer,
            Gradient = grad,
            Vectors = whole,
            RowAdvantage = new Vector<T>(advRow),
            RowRatio = rowRatio,
            RowSampler = rowSampler,
            Weight = new Vector<T>(T.CreateTruncating(weight)),
        };
        ManagedLossSweep<T>.Run(in args, in c, ref row, ref probe);

        int i = whole * width;
        if (i < n)
        {
            // The last partial vector goes through the same code from zero-padded copies; its padding lanes are invalid.
            int r = n - i;
            T* tmp = stackalloc T[6 * width];
            new Span<T>(tmp, 6 * width).Clear();
            args.LogProbs = Pad(lp + i, r, tmp);
            args.OldLogProbs = Pad(old + i, r, tmp + width);
            args.ReferenceLogProbs = refLp is null ? null : Pad(refLp + i, r, tmp + (2 * width));
            args.SamplerLogProbs = args.SamplerLogProbs is null ? null : Pad(args.SamplerLogProbs + i, r, tmp + (3 * width));
            args.Advantages = advTok is null ? null : Pad(advTok + i, r, tmp + (4 * width));
            args.Lanes = lanePointer + i;
            args.PolicyTokenMask = keepPointer is null ? null : keepPointer + i;
            args.Gradient = grad is null ? null : tmp + (5 * width);
            args.Vectors = 1;
            ManagedLossSweep<T>.Run(in args, in c, ref row, ref probe);
            if (grad is not null)
            {
                new ReadOnlySpan<T>(tmp + (5 * width), r).CopyTo(new Span<T>(grad + i, r));
            }
        }

        suspicious |= !T.IsFinite(Vector.Sum(probe));
        row.InvalidInput = suspicious;

        if (_plan.SequenceRatio && !_plan.Cispo && grad is not null && count > 0)
        {
            // dLoss/dlogp_t = (dLoss/dρ_b) · ρ_b · M_t / max(1, Σ M), zero where the per-token log-ratio clamp was active
            // (added to the per-token KL part already written).
            double dRatio = row.RatioGradient;
            double coefficient = dRatio * double.CreateTruncating(rowRatio[0]) / count;
            AddRatioGradient(lp, old, grad, lanes, n, T.CreateTruncating(coefficient), in c);
        }
    }

    private static T* Pad(T* source, int count, T* buffer)
    {
        new ReadOnlySpan<T>(source, count).CopyTo(new Span<T>(buffer, count));
        return buffer;
    }

    private static void AddRatioGradient(T* lp, T* old, T* grad, Span<T> lanes, int n, T value, in ManagedLossConstants<T> c)
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

    private (double Loss, PolicyLossStatistics Statistics) Reduce(ArraySegment<ManagedLossRow> results)
    {
        double loss = 0, ratio = 0, kl = 0, low = 0, high = 0, dual = 0, sampler = 0;
        long tokens = 0;
        for (int b = 0; b < results.Count; b++)
        {
            ref readonly var row = ref results.AsSpan()[b];
            loss += row.LossSum * RowWeight(row.Count);
            ratio += row.RatioSum;
            kl += row.KlSum;
            low += row.ClipLow;
            high += row.ClipHigh;
            dual += row.DualClip;
            sampler += row.SamplerCorrected;
            tokens += row.Count;
        }

        // Divided (not multiplied by a reciprocal) like the other kernels, so equal sums give equal statistics.
        double denominator = Math.Max(1, tokens);
        var statistics = new PolicyLossStatistics(
            ClipFractionLow: low / denominator,
            ClipFractionHigh: high / denominator,
            DualClipFraction: dual / denominator,
            MeanRatio: ratio / denominator,
            MeanKl: _plan.UseKl ? kl / denominator : 0.0,
            SamplerCorrectionFraction: sampler / denominator,
            TokenCount: tokens);
        return (loss, statistics);
    }

    /// <summary>Whether the sweep flagged a row: a non-finite value at a valid position of a tensor the options use, a
    /// difference of two of them that overflowed, or a float mask value other than 0/1.</summary>
    private static bool HasInvalidInput(ArraySegment<ManagedLossRow> results)
    {
        foreach (ref readonly var row in results.AsSpan())
        {
            if (row.InvalidInput)
            {
                return true;
            }
        }

        return false;
    }
}
