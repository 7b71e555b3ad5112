namespace Vepa.Samples.SceneVepa.Report;

/// <summary>A mean with its two-sided 95 % Student-t confidence interval over seeds.</summary>
/// <param name="Mean">The mean of the values.</param>
/// <param name="Low">The lower end of the interval (NaN with fewer than two values).</param>
/// <param name="High">The upper end of the interval (NaN with fewer than two values).</param>
/// <param name="Count">How many finite values it is computed from.</param>
internal sealed record Interval(double Mean, double Low, double High, int Count)
{
    /// <summary>Gets a value indicating whether the interval lies wholly above zero.</summary>
    public bool AboveZero => Count >= 2 && Low > 0;

    /// <summary>Gets a value indicating whether the interval lies wholly below zero.</summary>
    public bool BelowZero => Count >= 2 && High < 0;
}

/// <summary>Mean, spread and confidence intervals over seeds.</summary>
internal static class Stats
{
    // Two-sided 95 % quantiles t(0.975; df) of Student's t distribution for df = 1..30 (standard tables, e.g. NIST/SEMATECH
    // e-Handbook 1.3.6.7.2). Seeds are at most 20, so df ≤ 19 is all the run needs.
    private static readonly double[] T975 =
    [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
        2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
        2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
    ];

    public static double Mean(IEnumerable<double> values)
    {
        var v = values.Where(double.IsFinite).ToList();
        return v.Count == 0 ? double.NaN : v.Average();
    }

    /// <summary>The sample standard deviation; 0 for a single value.</summary>
    public static double Spread(IEnumerable<double> values)
    {
        var v = values.Where(double.IsFinite).ToList();
        if (v.Count < 2)
        {
            return 0;
        }

        double mean = v.Average();
        return Math.Sqrt(v.Sum(x => (x - mean) * (x - mean)) / (v.Count - 1));
    }

    /// <summary>The 0.975 quantile of Student's t with <paramref name="degreesOfFreedom"/> degrees of freedom (1..30; 1.960 beyond).</summary>
    public static double TQuantile975(int degreesOfFreedom)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(degreesOfFreedom, 1);
        return degreesOfFreedom <= T975.Length ? T975[degreesOfFreedom - 1] : 1.960;
    }

    /// <summary>
    /// The mean and its 95 % t interval, mean ± t(0.975; n − 1) · sd / √n, over the finite values. For paired differences pass the
    /// per-seed differences: the interval is then the paired t interval.
    /// </summary>
    public static Interval TInterval(IEnumerable<double> values)
    {
        var v = values.Where(double.IsFinite).ToList();
        if (v.Count == 0)
        {
            return new Interval(double.NaN, double.NaN, double.NaN, 0);
        }

        double mean = v.Average();
        if (v.Count < 2)
        {
            return new Interval(mean, double.NaN, double.NaN, v.Count);
        }

        double half = TQuantile975(v.Count - 1) * Spread(v) / Math.Sqrt(v.Count);
        return new Interval(mean, mean - half, mean + half, v.Count);
    }

    public static string Format(IEnumerable<double> values, string format = "0.000")
    {
        var v = values.ToList();
        double mean = Mean(v);
        if (double.IsNaN(mean))
        {
            return "n/a";
        }

        return v.Count < 2 ? mean.ToString(format, CultureInfo.InvariantCulture) : $"{mean.ToString(format, CultureInfo.InvariantCulture)} ± {Spread(v).ToString(format, CultureInfo.InvariantCulture)}";
    }

    /// <summary>"+0.012 [−0.034, +0.058]": a signed mean with its 95 % t interval (just the mean with one value).</summary>
    public static string FormatInterval(IEnumerable<double> values)
    {
        var i = TInterval(values);
        if (double.IsNaN(i.Mean))
        {
            return "n/a";
        }

        return i.Count < 2 ? Signed(i.Mean) : $"{Signed(i.Mean)} [{Signed(i.Low)}, {Signed(i.High)}]";
    }

    /// <summary>The verdict on a paired difference: which side of zero its 95 % interval lies on.</summary>
    public static string Verdict(IEnumerable<double> delta, string better = "VEPA better", string worse = "VEPA worse")
    {
        var i = TInterval(delta);
        return i.Count < 2 ? "1 seed: no interval" : i.AboveZero ? better + " (CI > 0)" : i.BelowZero ? worse + " (CI < 0)" : "CI contains 0";
    }

    public static string Signed(double value) => double.IsNaN(value) ? "n/a" : value.ToString("+0.000;-0.000;0.000", CultureInfo.InvariantCulture);
}
