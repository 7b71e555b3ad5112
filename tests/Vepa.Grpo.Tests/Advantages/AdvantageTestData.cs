using TorchSharp;

namespace Vepa.Grpo.Tests.Advantages;

/// <summary>Builds reward tensors and reads results back as double arrays.</summary>
internal static class AdvantageTestData
{
    public static torch.Tensor Rewards(double[,] values, torch.ScalarType dtype = torch.ScalarType.Float64)
    {
        int p = values.GetLength(0);
        int g = values.GetLength(1);
        var flat = new double[p * g];
        for (int i = 0; i < p; i++)
        {
            for (int j = 0; j < g; j++)
            {
                flat[(i * g) + j] = values[i, j];
            }
        }

        using torch.Tensor t = Flat(flat, dtype);
        return t.reshape(p, g);
    }

    public static torch.Tensor Flat(double[] values, torch.ScalarType dtype = torch.ScalarType.Float64)
    {
        using torch.Tensor t = torch.tensor(values, [values.Length], torch.ScalarType.Float64);
        return t.to(dtype);
    }

    public static double[] Read(torch.Tensor t)
    {
        using torch.Tensor d = t.detach().to(torch.ScalarType.Float64).cpu().contiguous().reshape(-1);
        return d.data<double>().ToArray();
    }

    public static bool[] ReadFlags(torch.Tensor t)
    {
        using torch.Tensor d = t.cpu().contiguous();
        return d.data<bool>().ToArray();
    }

    public static AdvantageOptions Options(
        AdvantageNormalization mode = AdvantageNormalization.GroupStd,
        double eps = 1e-4,
        string? kernel = null,
        int? groupSize = null,
        RewardCombination combination = RewardCombination.SumThenNormalize,
        int? parallelThreshold = null) => new()
        {
            Normalization = mode,
            Epsilon = eps,
            Kernel = kernel,
            GroupSize = groupSize,
            Combination = combination,
            ManagedParallelThreshold = parallelThreshold,
        };

    /// <summary>The kernels every numeric test runs: the tensor ops, the managed kernel serial, and the managed kernel split over threads.</summary>
    public static TheoryData<string> Kernels => new() { "tensor", "managed", "managed-parallel" };

    public static AdvantageOptions WithKernel(this AdvantageOptions options, string kernel)
    {
        options.Kernel = kernel == "tensor" ? "tensor" : "managed";
        options.ManagedParallelThreshold = kernel == "managed-parallel" ? 0 : int.MaxValue;
        return options;
    }
}
