namespace Vepa.Grpo.Kernels;

/// <summary>
/// The advantage gate's reference: plain float64 loops over rewards [P, G], written from docs (GRPO-REFERENCE.md, "Advantages")
/// and <see cref="AdvantageNormalization"/>, independent of the tensor and managed kernels.
/// </summary>
internal static class AdvantageGateReference
{
    /// <summary>Computes the advantages of <paramref name="rewards"/> (row-major [P, G], NaN = excluded).</summary>
    /// <param name="rewards">The rewards, P·G values, group after group.</param>
    /// <param name="groupCount">P.</param>
    /// <param name="groupSize">G.</param>
    /// <param name="mode">The normalisation.</param>
    /// <param name="epsilon">ε.</param>
    /// <returns>The advantages and, per element, whether it must be exactly 0 (a NaN reward or a zero-signal group).</returns>
    public static (double[] Advantages, bool[] ExactZero) Compute(double[] rewards, int groupCount, int groupSize, AdvantageNormalization mode, double epsilon)
    {
        var advantages = new double[rewards.Length];
        var exactZero = new bool[rewards.Length];

        // The batch std (BatchStd): Bessel-corrected over every valid reward of the batch.
        double batchStd = 0.0;
        if (mode == AdvantageNormalization.BatchStd)
        {
            double sum = 0.0;
            long count = 0;
            foreach (double r in rewards)
            {
                if (!double.IsNaN(r))
                {
                    sum += r;
                    count++;
                }
            }

            double mean = count > 0 ? sum / count : 0.0;
            double squares = 0.0;
            foreach (double r in rewards)
            {
                if (!double.IsNaN(r))
                {
                    squares += (r - mean) * (r - mean);
                }
            }

            batchStd = count > 1 ? Math.Sqrt(squares / (count - 1)) : 0.0;
        }

        for (int p = 0; p < groupCount; p++)
        {
            int start = p * groupSize;
            int n = 0;
            double sum = 0.0;
            double min = double.PositiveInfinity;
            double max = double.NegativeInfinity;
            for (int i = start; i < start + groupSize; i++)
            {
                double r = rewards[i];
                if (double.IsNaN(r))
                {
                    continue;
                }

                n++;
                sum += r;
                min = Math.Min(min, r);
                max = Math.Max(max, r);
            }

            double groupMean = n > 0 ? sum / n : 0.0;
            double squares = 0.0;
            for (int i = start; i < start + groupSize; i++)
            {
                if (!double.IsNaN(rewards[i]))
                {
                    squares += (rewards[i] - groupMean) * (rewards[i] - groupMean);
                }
            }

            double groupStd = n > 1 ? Math.Sqrt(squares / (n - 1)) : 0.0;
            bool zeroSignal = n < 2 || min == max || groupStd == 0.0
                || (mode == AdvantageNormalization.BatchStd && batchStd == 0.0);
            for (int i = start; i < start + groupSize; i++)
            {
                double r = rewards[i];
                if (zeroSignal || double.IsNaN(r))
                {
                    advantages[i] = 0.0;
                    exactZero[i] = true;
                    continue;
                }

                advantages[i] = mode switch
                {
                    AdvantageNormalization.GroupStd => (r - groupMean) / (groupStd + epsilon),
                    AdvantageNormalization.BatchStd => (r - groupMean) / (batchStd + epsilon),
                    AdvantageNormalization.MeanCentered => r - groupMean,
                    _ => r - ((sum - r) / (n - 1)),
                };
            }
        }

        return (advantages, exactZero);
    }
}
