using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using TorchSharp;

namespace Vepa.Grpo;

/// <summary>
/// The advantages as a managed kernel over contiguous CPU float32/float64 tensors, read and written in place (zero copy).
/// Each group is handled in one go: its G rewards (the weighted sum, for several components) are read once into a small float64
/// buffer, measured there (count, sum, min, max, then the centred sum of squares, in cache) and the advantages written out.
/// Modes that need batch statistics (batch std, the batch z-score of normalise-then-sum) first combine per-group (n, mean, M2)
/// with Chan's formula, in group order, so the result does not depend on how the groups were split over threads.
/// </summary>
internal static class ManagedAdvantageKernel
{
    /// <summary>Batches with at least this many rewards are split over threads (by contiguous ranges of groups).</summary>
    public const int DefaultParallelThreshold = 1 << 15;

    public static bool CanRun(AdvantageBatch batch, [NotNullWhen(false)] out string? reason)
    {
        if (batch.Device.type != DeviceType.CPU)
        {
            reason = $"{batch.ParamName} is on {batch.Device}, not the CPU.";
            return false;
        }

        if (batch.DType is not (torch.ScalarType.Float32 or torch.ScalarType.Float64))
        {
            reason = $"{batch.ParamName} is {batch.DType}, not float32 or float64.";
            return false;
        }

        for (int k = 0; k < batch.Components.Length; k++)
        {
            if (!batch.Components[k].is_contiguous())
            {
                reason = $"{batch.NameOf(k)} is not contiguous.";
                return false;
            }
        }

        reason = null;
        return true;
    }

    public static AdvantageResult Compute(AdvantageBatch batch, AdvantageOptions options)
        => batch.DType == torch.ScalarType.Float32
            ? Run<float>(batch, options)
            : Run<double>(batch, options);

    private static unsafe AdvantageResult Run<T>(AdvantageBatch batch, AdvantageOptions options)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        using var scope = torch.NewDisposeScope();
        torch.Tensor output = torch.empty(batch.Shape, batch.DType, torch.CPU);
        torch.Tensor flags = torch.empty(batch.GroupCount, torch.ScalarType.Bool, torch.CPU);

        var inputs = new nint[batch.Components.Length];
        for (int k = 0; k < inputs.Length; k++)
        {
            inputs[k] = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetReference(batch.Components[k].bytes));
        }

        var run = new Sweep<T>(
            batch,
            options,
            inputs,
            (nint)Unsafe.AsPointer(ref MemoryMarshal.GetReference(output.bytes)),
            (nint)Unsafe.AsPointer(ref MemoryMarshal.GetReference(flags.bytes)));
        try
        {
            run.Execute();
        }
        finally
        {
            run.ReturnBuffers();
        }

        if (run.InfiniteCount > 0 || run.OverflowCount > 0)
        {
            AdvantageValidation.ThrowInfinite(batch, run.OverflowCount);
        }

        return new AdvantageResult(
            output.MoveToOuterDisposeScope(), flags.MoveToOuterDisposeScope(), batch.GroupSize, run.ZeroSignalCount, run.InvalidCount);
    }

    /// <summary>Statistics of one group's valid values.</summary>
    private readonly record struct GroupStats(int Count, double Mean, double M2, double Std, bool Zero);

    /// <summary>One call's state: pointers to the tensors' memory, per-group statistics, counters.</summary>
    private sealed unsafe class Sweep<T>
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        private readonly nint[] _inputs;
        private readonly nint _output;
        private readonly nint _flags;
        private readonly double[] _weights;
        private readonly int _p;
        private readonly int _g;
        private readonly AdvantageNormalization _mode;
        private readonly double _eps;
        private readonly bool _sumFirst;
        private readonly bool _plain;
        private readonly int _chunks;

        // Per-group count, mean and M2 of the signal whose batch statistics are needed next (rented, length >= P).
        private readonly int[] _groupN;
        private readonly double[] _groupMean;
        private readonly double[] _groupM2;

        // Normalise-then-sum: S per rollout (rented, length >= P·G) and the batch std of each component (BatchStd mode).
        private readonly double[]? _signal;
        private readonly double[] _componentBatchStd;

        private long _invalid;
        private long _infinite;
        private long _overflow;
        private long _zeroSignal;

        public Sweep(AdvantageBatch batch, AdvantageOptions options, nint[] inputs, nint output, nint flags)
        {
            _inputs = inputs;
            _output = output;
            _flags = flags;
            _weights = batch.Weights;
            _p = batch.GroupCount;
            _g = batch.GroupSize;
            _mode = options.Normalization;
            _eps = options.Epsilon;
            _sumFirst = !batch.NormalizesComponentsFirst(options);
            _plain = batch.IsPlain;
            int threshold = options.ManagedParallelThreshold ?? DefaultParallelThreshold;
            _chunks = batch.Count >= threshold && Environment.ProcessorCount > 1
                ? Math.Min(_p, Environment.ProcessorCount * 4)
                : 1;
            _groupN = ArrayPool<int>.Shared.Rent(_p);
            _groupMean = ArrayPool<double>.Shared.Rent(_p);
            _groupM2 = ArrayPool<double>.Shared.Rent(_p);
            _signal = _sumFirst ? null : ArrayPool<double>.Shared.Rent(batch.Count);
            _componentBatchStd = new double[inputs.Length];
        }

        public int InvalidCount => (int)_invalid;

        public long InfiniteCount => _infinite;

        public long OverflowCount => _overflow;

        public int ZeroSignalCount => (int)_zeroSignal;

        public void Execute()
        {
            if (_sumFirst)
            {
                double batchStd = 0;
                if (_mode == AdvantageNormalization.BatchStd)
                {
                    ForEachChunk(MeasureCombinedChunk);
                    batchStd = CombineBatchStd();
                }

                ForEachChunk((first, end) => SumThenNormalizeChunk(first, end, batchStd));
                return;
            }

            if (_mode == AdvantageNormalization.BatchStd)
            {
                for (int k = 0; k < _inputs.Length; k++)
                {
                    int component = k;
                    ForEachChunk((first, end) => MeasureComponentChunk(first, end, component));
                    _componentBatchStd[k] = CombineBatchStd();
                }
            }

            ForEachChunk(NormalizeComponentsChunk);
            (double mean, double std) = CombineBatch();
            ForEachChunk((first, end) => BatchZScoreChunk(first, end, mean, std));
        }

        public void ReturnBuffers()
        {
            ArrayPool<int>.Shared.Return(_groupN);
            ArrayPool<double>.Shared.Return(_groupMean);
            ArrayPool<double>.Shared.Return(_groupM2);
            if (_signal is not null)
            {
                ArrayPool<double>.Shared.Return(_signal);
            }
        }

        private void ForEachChunk(Action<int, int> body)
        {
            if (_chunks == 1)
            {
                body(0, _p);
                return;
            }

            Parallel.For(0, _chunks, c => body((int)((long)c * _p / _chunks), (int)((long)(c + 1) * _p / _chunks)));
        }

        /// <summary>Batch std mode, sum first: per-group (n, mean, M2) of R = Σ w_k r_k.</summary>
        private void MeasureCombinedChunk(int first, int end)
        {
            double[] r = ArrayPool<double>.Shared.Rent(_g);
            Span<double> values = r.AsSpan(0, _g);
            for (int group = first; group < end; group++)
            {
                LoadCombined(group, values, count: false);
                Store(group, Measure(values));
            }

            ArrayPool<double>.Shared.Return(r);
        }

        /// <summary>Batch std mode, normalise first: per-group (n, mean, M2) of component k over the valid rollouts.</summary>
        private void MeasureComponentChunk(int first, int end, int k)
        {
            double[] buffer = ArrayPool<double>.Shared.Rent(2 * _g);
            Span<double> values = buffer.AsSpan(0, _g);
            Span<double> mask = buffer.AsSpan(_g, _g);
            for (int group = first; group < end; group++)
            {
                LoadMask(group, mask, count: false);
                LoadComponent(group, k, mask, values);
                Store(group, Measure(values));
            }

            ArrayPool<double>.Shared.Return(buffer);
        }

        /// <summary>Sum first: one sweep per group computes R, its statistics and the advantages.</summary>
        private void SumThenNormalizeChunk(int first, int end, double batchStd)
        {
            double[] r = ArrayPool<double>.Shared.Rent(_g);
            Span<double> values = r.AsSpan(0, _g);
            long zeroSignal = 0;
            for (int group = first; group < end; group++)
            {
                LoadCombined(group, values, count: true);
                GroupStats stats = Measure(values);
                bool zero = stats.Zero || (_mode == AdvantageNormalization.BatchStd && batchStd == 0);
                Span<T> destination = new((T*)_output + ((long)group * _g), _g);
                if (zero)
                {
                    destination.Clear();
                    zeroSignal++;
                }
                else
                {
                    double scale = Scale(stats, batchStd);
                    for (int i = 0; i < values.Length; i++)
                    {
                        double v = values[i];
                        destination[i] = double.IsNaN(v) ? T.Zero : T.CreateTruncating((v - stats.Mean) * scale);
                    }
                }

                ((bool*)_flags)[group] = zero;
            }

            Interlocked.Add(ref _zeroSignal, zeroSignal);
            ArrayPool<double>.Shared.Return(r);
        }

        /// <summary>Normalise first: S = Σ_k w_k · normalise(r_k) per rollout, then per-group statistics of S for the batch z-score.</summary>
        private void NormalizeComponentsChunk(int first, int end)
        {
            double[] buffer = ArrayPool<double>.Shared.Rent(2 * _g);
            Span<double> values = buffer.AsSpan(0, _g);
            Span<double> mask = buffer.AsSpan(_g, _g);
            for (int group = first; group < end; group++)
            {
                LoadMask(group, mask, count: true);
                Span<double> s = _signal.AsSpan(group * _g, _g);
                mask.CopyTo(s); // 0 where valid, NaN where not
                for (int k = 0; k < _inputs.Length; k++)
                {
                    LoadComponent(group, k, mask, values);
                    GroupStats stats = Measure(values);
                    double batchStd = _componentBatchStd[k];
                    if (stats.Zero || (_mode == AdvantageNormalization.BatchStd && batchStd == 0))
                    {
                        continue;
                    }

                    double scale = Scale(stats, batchStd) * _weights[k];
                    for (int i = 0; i < s.Length; i++)
                    {
                        s[i] += (values[i] - stats.Mean) * scale; // NaN stays NaN
                    }
                }

                GroupStats combined = Measure(s);
                Store(group, combined);
                ((bool*)_flags)[group] = combined.Zero;
            }

            ArrayPool<double>.Shared.Return(buffer);
        }

        /// <summary>Normalise first: A = (S − mean_batch)/(std_batch + ε), 0 where invalid or in a zero-signal group.</summary>
        private void BatchZScoreChunk(int first, int end, double mean, double std)
        {
            long zeroSignal = 0;
            double inverse = 1.0 / (std + _eps);
            for (int group = first; group < end; group++)
            {
                bool zero = ((bool*)_flags)[group] || std == 0;
                Span<T> destination = new((T*)_output + ((long)group * _g), _g);
                if (zero)
                {
                    destination.Clear();
                    zeroSignal++;
                }
                else
                {
                    ReadOnlySpan<double> s = _signal.AsSpan(group * _g, _g);
                    for (int i = 0; i < s.Length; i++)
                    {
                        double v = s[i];
                        destination[i] = double.IsNaN(v) ? T.Zero : T.CreateTruncating((v - mean) * inverse);
                    }
                }

                ((bool*)_flags)[group] = zero;
            }

            Interlocked.Add(ref _zeroSignal, zeroSignal);
        }

        /// <summary>The factor that multiplies R_i − mean_g in the current mode.</summary>
        private double Scale(GroupStats stats, double batchStd) => _mode switch
        {
            AdvantageNormalization.GroupStd => 1.0 / (stats.Std + _eps),
            AdvantageNormalization.BatchStd => 1.0 / (batchStd + _eps),
            AdvantageNormalization.MeanCentered => 1.0,
            _ => (double)stats.Count / (stats.Count - 1),
        };

        /// <summary>Records a group's statistics for the batch combination.</summary>
        private void Store(int group, GroupStats stats)
        {
            _groupN[group] = stats.Count;
            _groupMean[group] = stats.Mean;
            _groupM2[group] = stats.M2;
        }

        /// <summary>Combines the stored per-group statistics (zero-signal groups included) into the batch mean and Bessel std.</summary>
        private (double Mean, double Std) CombineBatch()
        {
            long n = 0;
            double mean = 0;
            double m2 = 0;
            for (int group = 0; group < _p; group++)
            {
                int nb = _groupN[group];
                if (nb == 0)
                {
                    continue;
                }

                long total = n + nb;
                double delta = _groupMean[group] - mean;
                mean += delta * nb / total;
                m2 += _groupM2[group] + (delta * delta * n * nb / total);
                n = total;
            }

            return (mean, Math.Sqrt(m2 / Math.Max(n - 1, 1)));
        }

        private double CombineBatchStd() => CombineBatch().Std;

        /// <summary>Loads R_i = Σ_k w_k r_k,i of one group (NaN where any component is NaN), counting NaNs and infinities when asked.</summary>
        private void LoadCombined(int group, Span<double> values, bool count)
        {
            long offset = (long)group * _g;
            var x0 = new ReadOnlySpan<T>((T*)_inputs[0] + offset, _g);
            long infinite = 0;
            if (_plain)
            {
                for (int i = 0; i < values.Length; i++)
                {
                    values[i] = double.CreateTruncating(x0[i]);
                }
            }
            else
            {
                double w0 = _weights[0];
                for (int i = 0; i < values.Length; i++)
                {
                    values[i] = w0 * double.CreateTruncating(x0[i]);
                }

                for (int k = 1; k < _inputs.Length; k++)
                {
                    var xk = new ReadOnlySpan<T>((T*)_inputs[k] + offset, _g);
                    double wk = _weights[k];
                    for (int i = 0; i < values.Length; i++)
                    {
                        values[i] += wk * double.CreateTruncating(xk[i]);
                    }
                }
            }

            if (!count)
            {
                return;
            }

            long invalid = 0;
            long overflow = 0;
            for (int i = 0; i < values.Length; i++)
            {
                double v = values[i];
                if (double.IsFinite(v))
                {
                    continue;
                }

                // A non-finite sum is NaN (a missing reward), or comes from an infinite component, or overflowed.
                bool anyInfinite = false;
                for (int k = 0; k < _inputs.Length; k++)
                {
                    anyInfinite |= T.IsInfinity(((T*)_inputs[k])[offset + i]);
                }

                if (anyInfinite)
                {
                    infinite++;
                }
                else if (double.IsNaN(v))
                {
                    invalid++;
                }
                else
                {
                    overflow++;
                }
            }

            if (invalid != 0)
            {
                Interlocked.Add(ref _invalid, invalid);
            }

            if (infinite != 0)
            {
                Interlocked.Add(ref _infinite, infinite);
            }

            if (overflow != 0)
            {
                Interlocked.Add(ref _overflow, overflow);
            }
        }

        /// <summary>Writes 0 where every component of the rollout is non-NaN and NaN elsewhere, counting NaNs and infinities when asked.</summary>
        private void LoadMask(int group, Span<double> mask, bool count)
        {
            long offset = (long)group * _g;
            mask.Clear();
            long infinite = 0;
            for (int k = 0; k < _inputs.Length; k++)
            {
                var xk = new ReadOnlySpan<T>((T*)_inputs[k] + offset, _g);
                for (int i = 0; i < mask.Length; i++)
                {
                    T v = xk[i];
                    if (T.IsNaN(v))
                    {
                        mask[i] = double.NaN;
                    }
                    else if (T.IsInfinity(v))
                    {
                        infinite++;
                    }
                }
            }

            if (!count)
            {
                return;
            }

            long invalid = 0;
            foreach (double m in mask)
            {
                if (double.IsNaN(m))
                {
                    invalid++;
                }
            }

            if (invalid != 0)
            {
                Interlocked.Add(ref _invalid, invalid);
            }

            if (infinite != 0)
            {
                Interlocked.Add(ref _infinite, infinite);
            }
        }

        /// <summary>Loads component k of one group, NaN where the mask is NaN.</summary>
        private void LoadComponent(int group, int k, ReadOnlySpan<double> mask, Span<double> values)
        {
            var xk = new ReadOnlySpan<T>((T*)_inputs[k] + ((long)group * _g), _g);
            for (int i = 0; i < values.Length; i++)
            {
                values[i] = double.CreateTruncating(xk[i]) + mask[i];
            }
        }

        /// <summary>Count, mean, M2 and Bessel std of the non-NaN values; zero-signal when fewer than 2, all equal, or std = 0.</summary>
        private static GroupStats Measure(ReadOnlySpan<double> values)
        {
            int n = 0;
            double sum = 0;
            double min = double.PositiveInfinity;
            double max = double.NegativeInfinity;
            foreach (double v in values)
            {
                if (double.IsNaN(v))
                {
                    continue;
                }

                n++;
                sum += v;
                min = Math.Min(min, v);
                max = Math.Max(max, v);
            }

            if (n == 0)
            {
                return new GroupStats(0, 0, 0, 0, Zero: true);
            }

            double mean = sum / n;
            double m2 = 0;
            foreach (double v in values)
            {
                if (!double.IsNaN(v))
                {
                    double d = v - mean;
                    m2 += d * d;
                }
            }

            double std = Math.Sqrt(m2 / Math.Max(n - 1, 1));
            return new GroupStats(n, mean, m2, std, Zero: n < AdvantageConstants.MinGroupSize || min == max || std == 0);
        }
    }
}
