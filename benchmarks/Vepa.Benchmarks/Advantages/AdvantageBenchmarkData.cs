using TorchSharp;

namespace Vepa.Benchmarks;

/// <summary>Seeded GRPO-like rewards: half the groups pass/fail (0/1), the rest continuous, one group in eight constant.</summary>
internal static class AdvantageBenchmarkData
{
    public static torch.Tensor Rewards(int p, int g, int seed)
    {
        var random = new Random(seed);
        var values = new float[p * g];
        for (int group = 0; group < p; group++)
        {
            int kind = group % 8 == 7 ? 2 : random.Next(2);
            float constant = random.Next(2);
            for (int j = 0; j < g; j++)
            {
                values[(group * g) + j] = kind switch
                {
                    0 => random.Next(2),
                    1 => (float)random.NextDouble(),
                    _ => constant,
                };
            }
        }

        return torch.tensor(values, [values.Length], torch.ScalarType.Float32);
    }
}
