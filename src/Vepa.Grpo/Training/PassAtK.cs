namespace Vepa.Grpo;

/// <summary>The unbiased pass@k estimator of Chen et al. 2021 and the k values reported.</summary>
internal static class PassAtK
{
    /// <summary>1 − C(n − c, k) / C(n, k) for n samples of which c pass, as 1 − Π_{i=n−c+1}^{n} (1 − k / i) (no factorials, no overflow).</summary>
    public static double Estimate(int n, int c, int k)
    {
        if (n - c < k)
        {
            return 1.0;
        }

        double fail = 1.0;
        for (int i = n - c + 1; i <= n; i++)
        {
            fail *= 1.0 - ((double)k / i);
        }

        return 1.0 - fail;
    }

    /// <summary>k = 1, 2, 4, … ≤ n, and n.</summary>
    public static int[] Ks(int n)
    {
        var ks = new List<int>();
        for (int k = 1; k <= n; k *= 2)
        {
            ks.Add(k);
        }

        if (ks[^1] != n)
        {
            ks.Add(n);
        }

        return [.. ks];
    }
}
