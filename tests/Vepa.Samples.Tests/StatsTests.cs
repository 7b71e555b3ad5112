using Vepa.Samples.SceneVepa.Report;

namespace Vepa.Samples.Tests;

public sealed class StatsTests
{
    [Fact]
    public void The_t_interval_is_mean_plus_minus_t_times_sd_over_root_n()
    {
        // Hand computation: values 0.10, 0.30, 0.20, 0.40 → mean 0.25, sample sd = sqrt(0.05 / 3) = 0.129099...,
        // t(0.975; 3) = 3.182 → half width 3.182 · 0.129099 / 2 = 0.205397.
        var i = Stats.TInterval([0.10, 0.30, 0.20, 0.40]);
        i.Mean.Should().BeApproximately(0.25, 1e-12);
        i.Low.Should().BeApproximately(0.25 - 0.2053974, 1e-6);
        i.High.Should().BeApproximately(0.25 + 0.2053974, 1e-6);
        i.Count.Should().Be(4);
        i.AboveZero.Should().BeTrue();
        Stats.Verdict([0.10, 0.30, 0.20, 0.40]).Should().Be("VEPA better (CI > 0)");
        Stats.Verdict([-0.1, 0.2, 0.05]).Should().Be("CI contains 0");
        Stats.Verdict([0.3]).Should().Be("1 seed: no interval");
        Stats.FormatInterval([0.10, 0.30, 0.20, 0.40]).Should().Be("+0.250 [+0.045, +0.455]");
    }

    [Fact]
    public void One_value_has_no_interval_and_non_finite_values_are_left_out()
    {
        var one = Stats.TInterval([0.5, double.NaN]);
        one.Mean.Should().Be(0.5);
        double.IsNaN(one.Low).Should().BeTrue();
        one.AboveZero.Should().BeFalse();
        Stats.TInterval([]).Count.Should().Be(0);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(4)]
    [InlineData(9)]
    [InlineData(19)]
    [InlineData(30)]
    public void The_tabulated_t_quantiles_have_cumulative_probability_0_975(int df)
    {
        // Independent check of the table: integrate Student's t density from 0 to the quantile (Simpson, 20 000 intervals);
        // the two-sided 95 % quantile leaves 0.475 on each side of 0. The table has three decimals, so allow the density times 0.0005.
        double q = Stats.TQuantile975(df);
        double Density(double t) => Math.Exp(LogGamma((df + 1) / 2.0) - LogGamma(df / 2.0) - (0.5 * Math.Log(df * Math.PI)) - ((df + 1) / 2.0 * Math.Log(1 + (t * t / df))));
        const int n = 20_000;
        double h = q / n, sum = Density(0) + Density(q);
        for (int k = 1; k < n; k++)
        {
            sum += (k % 2 == 1 ? 4 : 2) * Density(k * h);
        }

        double area = sum * h / 3;
        area.Should().BeApproximately(0.475, (Density(q) * 0.0005) + 1e-7, $"df = {df}, q = {q}");
    }

    // Lanczos approximation (g = 7, 9 coefficients) of ln Γ(x) for x > 0.5.
    private static double LogGamma(double x)
    {
        double[] c = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
        x -= 1;
        double a = c[0];
        double t = x + 7.5;
        for (int i = 1; i < 9; i++)
        {
            a += c[i] / (x + i);
        }

        return (0.5 * Math.Log(2 * Math.PI)) + ((x + 0.5) * Math.Log(t)) - t + Math.Log(a);
    }
}
