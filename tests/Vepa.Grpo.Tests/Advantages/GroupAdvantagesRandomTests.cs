using TorchSharp;
using static Vepa.Grpo.Tests.Advantages.AdvantageTestData;

namespace Vepa.Grpo.Tests.Advantages;

/// <summary>
/// Seeded random rewards (continuous, binary, constant groups, NaNs sprinkled, groups with a single valid reward) over every
/// mode × combination × dtype × shape, checked against the independent float64 reference for each kernel.
/// </summary>
public sealed class GroupAdvantagesRandomTests
{
    private static readonly (int P, int G, bool Flat)[] Shapes =
    [
        (1, 2, false), (1, 16, true), (5, 2, false), (9, 16, true), (17, 8, false), (64, 16, true),
    ];

    private static readonly double[] Epsilons = [1e-4, 1e-6, 1e-9, 0];

    private static readonly double[] ComponentWeights = [1.0, 0.5, -0.25];

    public static TheoryData<AdvantageNormalization, string, torch.ScalarType> Cases()
    {
        var data = new TheoryData<AdvantageNormalization, string, torch.ScalarType>();
        foreach (AdvantageNormalization mode in Enum.GetValues<AdvantageNormalization>())
        {
            foreach (string variant in new[] { "single-sum", "single-normalize", "multi-sum", "multi-normalize" })
            {
                foreach (torch.ScalarType dtype in new[]
                         {
                             torch.ScalarType.Float64, torch.ScalarType.Float32, torch.ScalarType.BFloat16, torch.ScalarType.Float16,
                         })
                {
                    data.Add(mode, variant, dtype);
                }
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Every_kernel_matches_the_float64_reference(AdvantageNormalization mode, string variant, torch.ScalarType dtype)
    {
        bool multi = variant.StartsWith("multi", StringComparison.Ordinal);
        RewardCombination combination = variant.EndsWith("normalize", StringComparison.Ordinal)
            ? RewardCombination.NormalizeThenSum
            : RewardCombination.SumThenNormalize;
        bool lowPrecision = dtype is torch.ScalarType.BFloat16 or torch.ScalarType.Float16;
        string[] kernels = lowPrecision ? ["tensor"] : ["tensor", "managed", "managed-parallel"];
        int seed = HashCode.Combine((int)mode, variant.Length, variant[^1], (int)dtype);
        var random = new Random(seed);

        for (int round = 0; round < 2; round++)
        {
            foreach ((int p, int g, bool flat) in Shapes)
            {
                int k = multi ? ComponentWeights.Length : 1;
                double eps = Epsilons[random.Next(Epsilons.Length)];
                double[][] generated = Generate(random, p, g, k);
                var tensors = new torch.Tensor[k];
                var stored = new double[k][];
                try
                {
                    for (int c = 0; c < k; c++)
                    {
                        tensors[c] = Flat(generated[c], dtype);
                        if (!flat)
                        {
                            torch.Tensor shaped = tensors[c].reshape(p, g);
                            tensors[c].Dispose();
                            tensors[c] = shaped;
                        }

                        stored[c] = Read(tensors[c]); // the values as the dtype holds them
                    }

                    double[] weights = multi ? ComponentWeights : [1.0];
                    AdvantageReference.Expected expected = AdvantageReference.Compute(stored, weights, p, g, mode, combination, eps);

                    foreach (string kernel in kernels)
                    {
                        AdvantageOptions options = Options(mode, eps, groupSize: flat ? g : null, combination: combination).WithKernel(kernel);
                        using AdvantageResult result = multi
                            ? GroupAdvantages.Compute(tensors, weights, options)
                            : GroupAdvantages.Compute(tensors[0], options);
                        string because = $"seed {seed}, round {round}, P={p}, G={g}, flat={flat}, eps={eps}, kernel {kernel}";
                        Check(result, expected, dtype, because);
                        result.Advantages.shape.Should().Equal(tensors[0].shape, because);
                        result.GroupCount.Should().Be(p, because);
                    }
                }
                finally
                {
                    foreach (torch.Tensor? t in tensors)
                    {
                        t?.Dispose();
                    }
                }
            }
        }
    }

    private static void Check(AdvantageResult result, AdvantageReference.Expected expected, torch.ScalarType dtype, string because)
    {
        result.Advantages.dtype.Should().Be(dtype, because);
        ReadFlags(result.ZeroSignalGroups).Should().Equal(expected.ZeroSignal, because);
        result.ZeroSignalGroupCount.Should().Be(expected.ZeroSignal.Count(z => z), because);
        result.ExcludedRewardCount.Should().Be(expected.ExcludedCount, because);

        double[] actual = Read(result.Advantages);
        for (int i = 0; i < actual.Length; i++)
        {
            double want = expected.Advantages[i];
            if (expected.ForcedZero[i])
            {
                actual[i].Should().Be(0.0, $"rollout {i} is NaN or in a zero-signal group ({because})");
                continue;
            }

            double tolerance = dtype switch
            {
                torch.ScalarType.Float64 => 1e-10 * (1 + Math.Abs(want)),
                torch.ScalarType.Float32 => 1e-5 * (1 + Math.Abs(want)),
                _ => (Math.Abs(want) / 256) + 1e-6,
            };
            actual[i].Should().BeApproximately(want, tolerance, $"rollout {i} ({because})");
        }
    }

    /// <summary>K components of P groups of G rewards, each group drawn from a random kind.</summary>
    private static double[][] Generate(Random random, int p, int g, int k)
    {
        var components = new double[k][];
        for (int c = 0; c < k; c++)
        {
            components[c] = new double[p * g];
        }

        for (int grp = 0; grp < p; grp++)
        {
            bool allConstant = random.NextDouble() < 0.15;
            for (int c = 0; c < k; c++)
            {
                Span<double> values = components[c].AsSpan(grp * g, g);
                int kind = allConstant ? 2 : random.Next(6);
                double constant = new[] { 0.1, 0.7, -2.0, 3.0 }[random.Next(4)];
                for (int j = 0; j < g; j++)
                {
                    values[j] = kind switch
                    {
                        0 or 3 => (random.NextDouble() * 6) - 3, // continuous in [-3, 3)
                        1 or 4 => random.Next(2),               // binary (pass/fail)
                        2 => constant,                           // every rollout scored the same
                        _ => random.NextDouble(),
                    };

                    if ((kind is 3 or 4 && random.NextDouble() < 0.3) || (kind == 5 && j > 0))
                    {
                        values[j] = double.NaN; // a reward that could not be computed
                    }
                }
            }
        }

        return components;
    }
}
