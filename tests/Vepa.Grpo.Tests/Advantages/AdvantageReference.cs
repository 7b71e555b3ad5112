namespace Vepa.Grpo.Tests.Advantages;

/// <summary>
/// An independent float64 reference for GRPO advantages, written with plain loops over double arrays straight from the
/// formulas in docs/GRPO-REFERENCE.md (it shares no code with the kernels under test).
/// </summary>
internal static class AdvantageReference
{
    public sealed record Expected(double[] Advantages, bool[] ZeroSignal, bool[] ForcedZero, int ExcludedCount);

    /// <summary>Advantages of K components (each flat [P·G], NaN = missing) with weights, for the given mode and combination.</summary>
    public static Expected Compute(
        double[][] components, double[] weights, int p, int g, AdvantageNormalization mode, RewardCombination combination, double eps)
    {
        int count = p * g;
        var valid = new bool[count];
        int excluded = 0;
        for (int i = 0; i < count; i++)
        {
            valid[i] = true;
            foreach (double[] c in components)
            {
                if (double.IsNaN(c[i]))
                {
                    valid[i] = false;
                }
            }

            if (!valid[i])
            {
                excluded++;
            }
        }

        double[] advantages;
        bool[] zero;
        // One component has nothing to combine: normalise-then-sum is sum-then-normalise (no batch z-score on top).
        if (combination == RewardCombination.SumThenNormalize || components.Length == 1)
        {
            var r = new double[count];
            for (int i = 0; i < count; i++)
            {
                double sum = 0;
                for (int k = 0; k < components.Length; k++)
                {
                    sum += weights[k] * components[k][i];
                }

                r[i] = valid[i] ? sum : double.NaN;
            }

            (advantages, zero) = Normalize(r, valid, p, g, mode, eps);
        }
        else
        {
            var s = new double[count];
            for (int k = 0; k < components.Length; k++)
            {
                (double[] z, _) = Normalize(components[k], valid, p, g, mode, eps);
                for (int i = 0; i < count; i++)
                {
                    s[i] += weights[k] * z[i];
                }
            }

            zero = new bool[p];
            for (int grp = 0; grp < p; grp++)
            {
                zero[grp] = IsZeroSignal(s, valid, grp, g);
            }

            // z-score of S over every valid rollout of the batch.
            double total = 0;
            int n = 0;
            for (int i = 0; i < count; i++)
            {
                if (valid[i])
                {
                    total += s[i];
                    n++;
                }
            }

            double mean = total / n;
            double squares = 0;
            for (int i = 0; i < count; i++)
            {
                if (valid[i])
                {
                    squares += (s[i] - mean) * (s[i] - mean);
                }
            }

            double std = n > 1 ? Math.Sqrt(squares / (n - 1)) : 0;
            advantages = new double[count];
            for (int i = 0; i < count; i++)
            {
                advantages[i] = valid[i] && !zero[i / g] && std > 0 ? (s[i] - mean) / (std + eps) : 0;
            }

            if (std == 0)
            {
                Array.Fill(zero, true);
            }
        }

        var forced = new bool[count];
        for (int i = 0; i < count; i++)
        {
            forced[i] = !valid[i] || zero[i / g];
        }

        return new Expected(advantages, zero, forced, excluded);
    }

    /// <summary>Normalises x within each group over the valid entries; 0 where invalid or in a zero-signal group.</summary>
    private static (double[] Advantages, bool[] Zero) Normalize(double[] x, bool[] valid, int p, int g, AdvantageNormalization mode, double eps)
    {
        var a = new double[p * g];
        var zero = new bool[p];

        double batchStd = 0;
        if (mode == AdvantageNormalization.BatchStd)
        {
            var all = new List<double>();
            for (int i = 0; i < p * g; i++)
            {
                if (valid[i])
                {
                    all.Add(x[i]);
                }
            }

            batchStd = all.Count > 1 ? SampleStd(all) : 0;
        }

        for (int grp = 0; grp < p; grp++)
        {
            zero[grp] = IsZeroSignal(x, valid, grp, g) || (mode == AdvantageNormalization.BatchStd && batchStd == 0);
            if (zero[grp])
            {
                continue;
            }

            var values = new List<double>();
            for (int j = 0; j < g; j++)
            {
                if (valid[(grp * g) + j])
                {
                    values.Add(x[(grp * g) + j]);
                }
            }

            double sum = values.Sum();
            double mean = sum / values.Count;
            double groupStd = SampleStd(values);
            for (int j = 0; j < g; j++)
            {
                int i = (grp * g) + j;
                if (!valid[i])
                {
                    continue;
                }

                a[i] = mode switch
                {
                    AdvantageNormalization.GroupStd => (x[i] - mean) / (groupStd + eps),
                    AdvantageNormalization.BatchStd => (x[i] - mean) / (batchStd + eps),
                    AdvantageNormalization.MeanCentered => x[i] - mean,

                    // Leave-one-out baseline: the mean of the other valid rewards of the group.
                    _ => x[i] - ((sum - x[i]) / (values.Count - 1)),
                };
            }
        }

        return (a, zero);
    }

    /// <summary>Fewer than 2 valid values, or all valid values equal.</summary>
    private static bool IsZeroSignal(double[] x, bool[] valid, int grp, int g)
    {
        double? first = null;
        bool allEqual = true;
        int n = 0;
        for (int j = 0; j < g; j++)
        {
            int i = (grp * g) + j;
            if (!valid[i])
            {
                continue;
            }

            n++;
            first ??= x[i];
            if (x[i] != first)
            {
                allEqual = false;
            }
        }

        return n < 2 || allEqual;
    }

    private static double SampleStd(List<double> values)
    {
        double mean = values.Average();
        double squares = values.Sum(v => (v - mean) * (v - mean));
        return Math.Sqrt(squares / (values.Count - 1));
    }
}
