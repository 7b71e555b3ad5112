using TorchSharp;
using static Vepa.Grpo.Tests.Advantages.AdvantageTestData;

namespace Vepa.Grpo.Tests.Advantages;

/// <summary>Every call releases its temporaries; only the two result tensors stay alive until the result is disposed.</summary>
[Collection("Sequential")]
public sealed class GroupAdvantagesLeakTests
{
    [Theory]
    [InlineData("tensor", RewardCombination.SumThenNormalize)]
    [InlineData("tensor", RewardCombination.NormalizeThenSum)]
    [InlineData("managed", RewardCombination.SumThenNormalize)]
    [InlineData("managed-parallel", RewardCombination.NormalizeThenSum)]
    public void Live_tensor_count_stays_flat_over_100_calls(string kernel, RewardCombination combination)
    {
        using torch.Tensor r1 = Rewards(new double[,] { { 1, double.NaN, 3, 4 }, { 2, 2, 2, 2 }, { 0, 1, 1, 0 } });
        using torch.Tensor r2 = Rewards(new double[,] { { 0, 1, 0, 1 }, { 5, 6, 7, 8 }, { 1, 1, 1, 1 } });
        using torch.Tensor bad = Rewards(new double[,] { { 1, double.PositiveInfinity, 3, 4 } });
        AdvantageOptions options = Options(AdvantageNormalization.BatchStd, combination: combination).WithKernel(kernel);

        void Call()
        {
            using (GroupAdvantages.Compute(r1, options))
            {
            }

            using (GroupAdvantages.Compute([r1, r2], [1.0, 0.5], options))
            {
            }

            // Results left to an enclosing dispose scope are released with it.
            using (torch.NewDisposeScope())
            {
                _ = GroupAdvantages.Compute(r2, options);
            }

            // The error path releases its temporaries too.
            FluentActions.Invoking(() => GroupAdvantages.Compute(bad, options)).Should().Throw<ArgumentException>();
        }

        Call();

        // TotalCount is process-wide: a finalizer or a background task of another test class can move it during a window. A
        // leak is systematic (at least 100 tensors over 100 calls, in every window); interference is not, so the count must
        // come back flat in one of three windows.
        var drift = new List<long>();
        for (int window = 0; window < 3; window++)
        {
            Settle();
            long before = torch.Tensor.TotalCount;
            DisposeScopeManager.Statistics.Reset();
            for (int i = 0; i < 100; i++)
            {
                Call();
            }

            Settle();
            DisposeScopeManager.Statistics.ThreadTotalLiveCount.Should().Be(0);
            drift.Add(torch.Tensor.TotalCount - before);
            if (drift[^1] == 0)
            {
                break;
            }
        }

        drift.Should().Contain(0, "the live-tensor count must come back flat after 100 calls (drift per window: {0})", string.Join(", ", drift));
    }

    /// <summary>Lets finalizers of tensors that other code dropped run, so they do not move the count during the measurement.</summary>
    private static void Settle()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
    }
}
