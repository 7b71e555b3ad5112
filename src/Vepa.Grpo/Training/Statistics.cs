namespace Vepa.Grpo;

/// <summary>Mean and Bessel-corrected standard deviation over the non-NaN values.</summary>
internal static class Statistics
{
    public static double Mean(IEnumerable<double> values)
    {
        double sum = 0;
        int n = 0;
        foreach (double v in values)
        {
            if (!double.IsNaN(v))
            {
                sum += v;
                n++;
            }
        }

        return n == 0 ? double.NaN : sum / n;
    }

    public static double Std(IReadOnlyList<double> values)
    {
        double mean = Mean(values);
        double sum = 0;
        int n = 0;
        foreach (double v in values)
        {
            if (!double.IsNaN(v))
            {
                sum += (v - mean) * (v - mean);
                n++;
            }
        }

        return n < 2 ? double.NaN : Math.Sqrt(sum / (n - 1));
    }
}
