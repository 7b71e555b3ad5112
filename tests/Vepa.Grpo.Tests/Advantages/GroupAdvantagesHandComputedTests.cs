using TorchSharp;
using static Vepa.Grpo.Tests.Advantages.AdvantageTestData;

namespace Vepa.Grpo.Tests.Advantages;

/// <summary>Small cases worked out by hand; every kernel must reproduce them.</summary>
public sealed class GroupAdvantagesHandComputedTests
{
    private const double Tight = 1e-12;

    [Theory]
    [MemberData(nameof(AdvantageTestData.Kernels), MemberType = typeof(AdvantageTestData))]
    public void Group_std_with_TRL_epsilon_matches_hand_computation(string kernel)
    {
        // R = [1, 2, 3, 4]: mean 2.5, R - mean = [-1.5, -0.5, 0.5, 1.5], Σd² = 2.25 + 0.25 + 0.25 + 2.25 = 5,
        // Bessel var = 5/3, std = sqrt(5/3) = 1.2909944487358056; A = d / (std + 1e-4) = d / 1.2910944487358056.
        using torch.Tensor rewards = Rewards(new double[,] { { 1, 2, 3, 4 } });
        using AdvantageResult result = GroupAdvantages.Compute(rewards, Options(eps: 1e-4).WithKernel(kernel));

        Read(result.Advantages).Should().Equal(
            [-1.161805010833055, -0.3872683369443517, 0.3872683369443517, 1.161805010833055], (a, b) => Math.Abs(a - b) < Tight);
        result.Advantages.shape.Should().Equal(1, 4);
        result.Advantages.dtype.Should().Be(torch.ScalarType.Float64);
        result.ZeroSignalGroupCount.Should().Be(0);
        result.GroupCount.Should().Be(1);
        result.GroupSize.Should().Be(4);
    }

    [Theory]
    [MemberData(nameof(AdvantageTestData.Kernels), MemberType = typeof(AdvantageTestData))]
    public void Group_std_with_verl_epsilon_on_binary_rewards_matches_hand_computation(string kernel)
    {
        // R = [1, 0, 0, 0]: mean 0.25, d = [0.75, -0.25, -0.25, -0.25], Σd² = 0.5625 + 3·0.0625 = 0.75, var = 0.75/3 = 0.25,
        // std = 0.5; A = d / (0.5 + 1e-6) = [1.499997000006, -0.499999000002 ×3].
        using torch.Tensor rewards = Rewards(new double[,] { { 1, 0, 0, 0 } });
        using AdvantageResult result = GroupAdvantages.Compute(rewards, Options(eps: 1e-6).WithKernel(kernel));

        Read(result.Advantages).Should().Equal(
            [1.499997000006, -0.499999000002, -0.499999000002, -0.499999000002], (a, b) => Math.Abs(a - b) < Tight);
    }

    [Theory]
    [MemberData(nameof(AdvantageTestData.Kernels), MemberType = typeof(AdvantageTestData))]
    public void Batch_std_uses_group_means_and_the_std_of_the_whole_batch(string kernel)
    {
        // R = [[1, 2], [3, 5]]: group means 1.5 and 4, so R - mean_g = [-0.5, 0.5, -1, 1].
        // Batch: mean (1+2+3+5)/4 = 2.75, squares 3.0625 + 0.5625 + 0.0625 + 5.0625 = 8.75, var = 8.75/3, std = 1.707825127659933.
        // A = (R - mean_g) / (1.707825127659933 + 1e-4).
        using torch.Tensor rewards = Rewards(new double[,] { { 1, 2 }, { 3, 5 } });
        using AdvantageResult result = GroupAdvantages.Compute(rewards, Options(AdvantageNormalization.BatchStd).WithKernel(kernel));

        Read(result.Advantages).Should().Equal(
            [-0.29275288003114125, 0.29275288003114125, -0.5855057600622825, 0.5855057600622825], (a, b) => Math.Abs(a - b) < Tight);
    }

    [Theory]
    [MemberData(nameof(AdvantageTestData.Kernels), MemberType = typeof(AdvantageTestData))]
    public void Mean_centered_subtracts_the_group_mean_only(string kernel)
    {
        // Dr. GRPO: R = [1, 2, 3, 4] → R - 2.5 = [-1.5, -0.5, 0.5, 1.5]; R = [10, 20] → [-5, 5].
        using torch.Tensor rewards = Rewards(new double[,] { { 1, 2, 3, 4 }, { 10, 20, double.NaN, double.NaN } });
        using AdvantageResult result = GroupAdvantages.Compute(rewards, Options(AdvantageNormalization.MeanCentered).WithKernel(kernel));

        Read(result.Advantages).Should().Equal([-1.5, -0.5, 0.5, 1.5, -5, 5, 0, 0]);
    }

    [Theory]
    [MemberData(nameof(AdvantageTestData.Kernels), MemberType = typeof(AdvantageTestData))]
    public void Leave_one_out_subtracts_the_mean_of_the_other_rewards(string kernel)
    {
        // RLOO, R = [1, 2, 3, 4]: A_1 = 1 - (2+3+4)/3 = -2, A_2 = 2 - 8/3 = -2/3, A_3 = 3 - 7/3 = 2/3, A_4 = 4 - 6/3 = 2.
        using torch.Tensor rewards = Rewards(new double[,] { { 1, 2, 3, 4 } });
        using AdvantageResult result = GroupAdvantages.Compute(rewards, Options(AdvantageNormalization.LeaveOneOut).WithKernel(kernel));

        Read(result.Advantages).Should().Equal([-2, -2.0 / 3, 2.0 / 3, 2], (a, b) => Math.Abs(a - b) < Tight);
    }

    [Theory]
    [MemberData(nameof(AdvantageTestData.Kernels), MemberType = typeof(AdvantageTestData))]
    public void Leave_one_out_with_a_missing_reward_uses_the_other_valid_rewards(string kernel)
    {
        // R = [1, NaN, 3, 5], n = 3 valid: A_1 = 1 - (3+5)/2 = -3, A_3 = 3 - (1+5)/2 = 0, A_5 = 5 - (1+3)/2 = 3; the NaN gets 0.
        using torch.Tensor rewards = Rewards(new double[,] { { 1, double.NaN, 3, 5 } });
        using AdvantageResult result = GroupAdvantages.Compute(rewards, Options(AdvantageNormalization.LeaveOneOut).WithKernel(kernel));

        Read(result.Advantages).Should().Equal([-3, 0, 0, 3], (a, b) => Math.Abs(a - b) < Tight);
        result.ExcludedRewardCount.Should().Be(1);
    }

    [Theory]
    [MemberData(nameof(AdvantageTestData.Kernels), MemberType = typeof(AdvantageTestData))]
    public void A_missing_reward_is_left_out_of_the_group_statistics_and_gets_zero(string kernel)
    {
        // R = [1, NaN, 3, 5]: valid 1, 3, 5, mean 3, d = [-2, 0, 2], Σd² = 8, var = 8/2 = 4, std = 2;
        // A = d / (2 + 1e-4) = [-0.9999500024998749, 0, 0.9999500024998749], and exactly 0 at the NaN.
        using torch.Tensor rewards = Rewards(new double[,] { { 1, double.NaN, 3, 5 } });
        using AdvantageResult result = GroupAdvantages.Compute(rewards, Options().WithKernel(kernel));

        double[] a = Read(result.Advantages);
        a.Should().Equal([-0.9999500024998749, 0, 0, 0.9999500024998749], (x, y) => Math.Abs(x - y) < Tight);
        a[1].Should().Be(0.0);
        result.ExcludedRewardCount.Should().Be(1);
        result.ZeroSignalGroupCount.Should().Be(0);
    }

    [Theory]
    [MemberData(nameof(AdvantageTestData.Kernels), MemberType = typeof(AdvantageTestData))]
    public void Constant_and_single_valid_groups_are_zero_signal_with_exact_zeros(string kernel)
    {
        // Group 0: six times 0.1. Summed in any order, 6·0.1 is not 0.6 exactly (e.g. 0.1+0.1+... = 0.6 - 1.1e-16), so the mean is
        //          not 0.1 and a naive (R − mean)/(std + ε) leaves residues of about 1e-13 (ε = 1e-4 dominates the tiny std);
        //          min = max makes the group zero-signal and its advantages exactly 0.
        // Group 1: one valid reward (2): zero-signal, all 0.
        // Group 2: valid [0, 1] (+ NaN): mean 0.5, d = ∓0.5, var = 0.5/1, std = 0.7071067811865476, A = ∓0.5/(std + 1e-4) = ∓0.7070067953266834.
        const double nan = double.NaN;
        using torch.Tensor rewards = Rewards(new double[,]
        {
            { 0.1, 0.1, 0.1, 0.1, 0.1, 0.1 },
            { nan, 2, nan, nan, nan, nan },
            { 0, 1, nan, nan, nan, nan },
        });

        foreach (AdvantageNormalization mode in Enum.GetValues<AdvantageNormalization>())
        {
            using AdvantageResult result = GroupAdvantages.Compute(rewards, Options(mode).WithKernel(kernel));
            double[] a = Read(result.Advantages);
            a[..12].Should().OnlyContain(v => v == 0.0, $"{mode}: zero-signal groups are exactly 0");
            a[14..].Should().OnlyContain(v => v == 0.0, $"{mode}: NaN rewards are exactly 0");
            ReadFlags(result.ZeroSignalGroups).Should().Equal(true, true, false);
            result.ZeroSignalGroups.shape.Should().Equal(3);
            result.ZeroSignalGroups.dtype.Should().Be(torch.ScalarType.Bool);
            result.ZeroSignalGroupCount.Should().Be(2);
            result.ZeroSignalFraction.Should().BeApproximately(2.0 / 3, 1e-15);
            result.ExcludedRewardCount.Should().Be(9);
            if (mode == AdvantageNormalization.GroupStd)
            {
                a[12].Should().BeApproximately(-0.7070067953266834, Tight);
                a[13].Should().BeApproximately(0.7070067953266834, Tight);
            }
        }
    }

    [Theory]
    [MemberData(nameof(AdvantageTestData.Kernels), MemberType = typeof(AdvantageTestData))]
    public void Flat_rewards_are_grouped_by_GroupSize_and_keep_their_shape(string kernel)
    {
        // [1, 2, 3, 4 | 5, 5, 5, 5] with G = 4: the first group as in the TRL case above, the second constant → 0.
        using torch.Tensor rewards = Flat([1, 2, 3, 4, 5, 5, 5, 5]);
        using AdvantageResult result = GroupAdvantages.Compute(rewards, Options(groupSize: 4).WithKernel(kernel));

        result.Advantages.shape.Should().Equal(8);
        Read(result.Advantages).Should().Equal(
            [-1.161805010833055, -0.3872683369443517, 0.3872683369443517, 1.161805010833055, 0, 0, 0, 0], (a, b) => Math.Abs(a - b) < Tight);
        ReadFlags(result.ZeroSignalGroups).Should().Equal(false, true);
    }

    [Theory]
    [MemberData(nameof(AdvantageTestData.Kernels), MemberType = typeof(AdvantageTestData))]
    public void Sum_then_normalize_weights_the_components_before_the_group_z_score(string kernel)
    {
        // r1 = [1, 0, 1, 0], r2 = [0.5, 0.5, 0, 0], w = [1, 2]: R = [2, 1, 1, 0], mean 1, d = [1, 0, 0, -1], Σd² = 2,
        // var = 2/3, std = 0.816496580927726; A = d / (std + 1e-4) = [1.2245948897605123, 0, 0, -1.2245948897605123].
        using torch.Tensor r1 = Rewards(new double[,] { { 1, 0, 1, 0 } });
        using torch.Tensor r2 = Rewards(new double[,] { { 0.5, 0.5, 0, 0 } });
        using AdvantageResult result = GroupAdvantages.Compute([r1, r2], [1.0, 2.0], Options().WithKernel(kernel));

        Read(result.Advantages).Should().Equal([1.2245948897605123, 0, 0, -1.2245948897605123], (a, b) => Math.Abs(a - b) < Tight);
    }

    [Theory]
    [MemberData(nameof(AdvantageTestData.Kernels), MemberType = typeof(AdvantageTestData))]
    public void Normalize_then_sum_z_scores_each_component_then_the_batch(string kernel)
    {
        // ε = 1e-6 (verl), w = [1, 0.5].
        // Group 0: r1 = [1, 0] → mean 0.5, std sqrt(0.5) = 0.7071067811865476, z1 = ±0.5/(0.7071067811865476 + 1e-6) = ±0.7071057811879616;
        //          r2 = [0, 0] is constant → z2 = 0. S = [0.7071057811879616, -0.7071057811879616].
        // Group 1: r1 = [3, 1] → mean 2, std sqrt(2), z1 = ±1/(1.4142135623730951 + 1e-6) = ±0.7071062811869011 =: ±y;
        //          r2 = [2, 4] → z2 = ∓y. S = [y - 0.5y, -y + 0.5y] = [0.35355314059345055, -0.35355314059345055].
        // Batch: mean of S = 0; Σ S² / 3 → std = 0.6454964027851896; A = S / (std + 1e-6)
        //        = [1.0954432630355202, -1.0954432630355202, 0.5477220188151662, -0.5477220188151662].
        using torch.Tensor r1 = Rewards(new double[,] { { 1, 0 }, { 3, 1 } });
        using torch.Tensor r2 = Rewards(new double[,] { { 0, 0 }, { 2, 4 } });
        AdvantageOptions options = Options(eps: 1e-6, combination: RewardCombination.NormalizeThenSum).WithKernel(kernel);
        using AdvantageResult result = GroupAdvantages.Compute([r1, r2], [1.0, 0.5], options);

        Read(result.Advantages).Should().Equal(
            [1.0954432630355202, -1.0954432630355202, 0.5477220188151662, -0.5477220188151662], (a, b) => Math.Abs(a - b) < Tight);
        result.ZeroSignalGroupCount.Should().Be(0);
    }

    [Theory]
    [MemberData(nameof(AdvantageTestData.Kernels), MemberType = typeof(AdvantageTestData))]
    public void Normalize_then_sum_leaves_a_single_reward_as_sum_then_normalize_does(string kernel)
    {
        // ε = 0, group std. Group 0: r = [0, 1] → mean 0.5, std sqrt(0.5), z = ±0.5/sqrt(0.5) = ±1/sqrt(2).
        // Group 1: r = [0, 3] → mean 1.5, std sqrt(4.5), z = ±1.5/sqrt(4.5) = ±1/sqrt(2).
        // One reward has nothing to combine: no batch z-score on top (that would give ±1/sqrt(2) / sqrt(2/3) = ±0.866).
        // With one weighted component w = -2: the advantages of -2r, the same values with the signs flipped.
        double z = 1 / Math.Sqrt(2);
        using torch.Tensor r = Rewards(new double[,] { { 0, 1 }, { 0, 3 } });
        AdvantageOptions options = Options(eps: 0, combination: RewardCombination.NormalizeThenSum).WithKernel(kernel);
        using AdvantageResult single = GroupAdvantages.Compute(r, options);
        using AdvantageResult weighted = GroupAdvantages.Compute([r], [-2.0], options);

        Read(single.Advantages).Should().Equal([-z, z, -z, z], (a, b) => Math.Abs(a - b) < Tight);
        Read(weighted.Advantages).Should().Equal([z, -z, z, -z], (a, b) => Math.Abs(a - b) < Tight);
    }

    [Theory]
    [MemberData(nameof(AdvantageTestData.Kernels), MemberType = typeof(AdvantageTestData))]
    public void A_NaN_in_any_component_excludes_the_rollout(string kernel)
    {
        // r1 = [1, 2, 3, 4], r2 = [0, NaN, 0, 0], w = [1, 0]: rollout 2 is excluded although its weight is 0.
        // R = [1, NaN, 3, 4]: mean 8/3, d = [-5/3, 1/3, 4/3], Σd² = (25 + 1 + 16)/9 = 14/3, var = 7/3, std = 1.5275252316519468.
        using torch.Tensor r1 = Rewards(new double[,] { { 1, 2, 3, 4 } });
        using torch.Tensor r2 = Rewards(new double[,] { { 0, double.NaN, 0, 0 } });
        using AdvantageResult result = GroupAdvantages.Compute([r1, r2], [1.0, 0.0], Options().WithKernel(kernel));

        double std = 1.5275252316519468 + 1e-4;
        Read(result.Advantages).Should().Equal([(-5.0 / 3) / std, 0, (1.0 / 3) / std, (4.0 / 3) / std], (a, b) => Math.Abs(a - b) < Tight);
        result.ExcludedRewardCount.Should().Be(1);
    }

    [Fact]
    public void Low_precision_rewards_come_back_in_their_dtype()
    {
        // bf16 holds 1, 2, 3, 4 exactly; A as in the TRL case, then rounded to bf16 (8 significant bits: relative error ≤ 2^-8).
        foreach (torch.ScalarType dtype in new[] { torch.ScalarType.BFloat16, torch.ScalarType.Float16 })
        {
            using torch.Tensor rewards = Rewards(new double[,] { { 1, 2, 3, 4 } }, dtype);
            using AdvantageResult result = GroupAdvantages.Compute(rewards);

            result.Advantages.dtype.Should().Be(dtype);
            Read(result.Advantages).Should().Equal(
                [-1.161805010833055, -0.3872683369443517, 0.3872683369443517, 1.161805010833055],
                (a, b) => Math.Abs(a - b) <= Math.Abs(b) / 256);
        }
    }

    [Theory]
    [MemberData(nameof(AdvantageTestData.Kernels), MemberType = typeof(AdvantageTestData))]
    public void Results_do_not_require_grad_and_inputs_are_left_alone(string kernel)
    {
        using torch.Tensor rewards = Rewards(new double[,] { { 1, 2, 3, 4 } }).requires_grad_(true);
        using AdvantageResult result = GroupAdvantages.Compute(rewards, Options().WithKernel(kernel));

        result.Advantages.requires_grad.Should().BeFalse();
        result.ZeroSignalGroups.requires_grad.Should().BeFalse();
        Read(rewards).Should().Equal(1, 2, 3, 4);
        rewards.requires_grad.Should().BeTrue();
    }
}
