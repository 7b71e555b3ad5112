namespace Vepa.Samples.SceneVepa.Report;

/// <summary>Mean and spread over seeds.</summary>
internal static class Stats
{
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

    public static string Signed(double value) => double.IsNaN(value) ? "n/a" : value.ToString("+0.000;-0.000;0.000", CultureInfo.InvariantCulture);
}
