using TorchSharp;
using static Vepa.Grpo.Tests.Advantages.AdvantageTestData;

namespace Vepa.Grpo.Tests.Advantages;

/// <summary>Bad input is rejected with an exception that names the argument and the actual values.</summary>
public sealed class GroupAdvantagesValidationTests
{
    [Fact]
    public void Defaults_follow_TRL()
    {
        var options = new AdvantageOptions();

        options.Normalization.Should().Be(AdvantageNormalization.GroupStd);
        options.Epsilon.Should().Be(1e-4);
        options.GroupSize.Should().BeNull();
        options.Combination.Should().Be(RewardCombination.SumThenNormalize);
        options.Kernel.Should().BeNull();
        options.Kernels.Should().BeNull();
        options.Invoking(o => o.Validate()).Should().NotThrow();
    }

    [Fact]
    public void Null_arguments_throw_ArgumentNullException()
    {
        using torch.Tensor r = torch.zeros(2, 4, torch.ScalarType.Float64);

        FluentActions.Invoking(() => GroupAdvantages.Compute(null!)).Should().Throw<ArgumentNullException>().WithParameterName("rewards");
        FluentActions.Invoking(() => GroupAdvantages.Compute(null!, [1.0])).Should().Throw<ArgumentNullException>().WithParameterName("components");
        FluentActions.Invoking(() => GroupAdvantages.Compute([r], null!)).Should().Throw<ArgumentNullException>().WithParameterName("weights");
    }

    [Fact]
    public void A_group_of_one_is_rejected()
    {
        using torch.Tensor r = torch.zeros(4, 1, torch.ScalarType.Float32);

        FluentActions.Invoking(() => GroupAdvantages.Compute(r)).Should().Throw<ArgumentException>()
            .WithParameterName("rewards")
            .WithMessage("rewards must have at least 2 rollouts per group (G >= 2); got shape [P, G] = [4, 1]. (Parameter*");
    }

    [Fact]
    public void GroupSize_below_two_is_rejected()
    {
        using torch.Tensor r = torch.zeros(6, torch.ScalarType.Float32);

        FluentActions.Invoking(() => GroupAdvantages.Compute(r, new AdvantageOptions { GroupSize = 1 })).Should().Throw<ArgumentException>()
            .WithParameterName("options")
            .WithMessage("Invalid AdvantageOptions: GroupSize must be >= 2; got 1. (Parameter*");
    }

    [Fact]
    public void Flat_length_not_divisible_by_GroupSize_is_rejected()
    {
        using torch.Tensor r = torch.zeros(10, torch.ScalarType.Float32);

        FluentActions.Invoking(() => GroupAdvantages.Compute(r, new AdvantageOptions { GroupSize = 4 })).Should().Throw<ArgumentException>()
            .WithParameterName("rewards")
            .WithMessage("rewards has length 10, which is not divisible by GroupSize = 4 (remainder 2). (Parameter*");
    }

    [Fact]
    public void Flat_rewards_without_GroupSize_are_rejected()
    {
        using torch.Tensor r = torch.zeros(8, torch.ScalarType.Float32);

        FluentActions.Invoking(() => GroupAdvantages.Compute(r)).Should().Throw<ArgumentException>()
            .WithParameterName("options")
            .WithMessage("rewards is flat ([8]): set options.GroupSize to the number of rollouts per prompt, or pass shape [P, G]. (Parameter*");
    }

    [Fact]
    public void GroupSize_that_disagrees_with_a_2D_shape_is_rejected()
    {
        using torch.Tensor r = torch.zeros(2, 8, torch.ScalarType.Float32);

        FluentActions.Invoking(() => GroupAdvantages.Compute(r, new AdvantageOptions { GroupSize = 4 })).Should().Throw<ArgumentException>()
            .WithParameterName("options")
            .WithMessage("options.GroupSize is 4 but rewards has shape [P, G] = [2, 8] (G = 8)*");
    }

    [Theory]
    [InlineData(-1.0, "-1")]
    [InlineData(double.NaN, "NaN")]
    [InlineData(double.PositiveInfinity, "Infinity")]
    public void Negative_NaN_or_infinite_epsilon_is_rejected(double eps, string shown)
    {
        using torch.Tensor r = torch.zeros(2, 4, torch.ScalarType.Float32);

        FluentActions.Invoking(() => GroupAdvantages.Compute(r, new AdvantageOptions { Epsilon = eps })).Should().Throw<ArgumentException>()
            .WithParameterName("options")
            .WithMessage($"Invalid AdvantageOptions: Epsilon must be finite and >= 0; got {shown}. (Parameter*");
    }

    [Fact]
    public void Every_invalid_option_is_listed_at_once()
    {
        var options = new AdvantageOptions { Epsilon = -2, GroupSize = 0, Normalization = (AdvantageNormalization)42 };

        FluentActions.Invoking(options.Validate).Should().Throw<ArgumentException>()
            .WithParameterName("options")
            .WithMessage("Invalid AdvantageOptions: Epsilon must be finite and >= 0; got -2. GroupSize must be >= 2; got 0. Normalization has an undefined value (42). (Parameter*");
    }

    [Fact]
    public void Rank_above_two_or_zero_is_rejected()
    {
        using torch.Tensor r3 = torch.zeros(2, 3, 4, torch.ScalarType.Float32);
        using torch.Tensor r0 = torch.tensor(1.0f);

        FluentActions.Invoking(() => GroupAdvantages.Compute(r3)).Should().Throw<ArgumentException>()
            .WithParameterName("rewards")
            .WithMessage("rewards must have shape [P, G] or [P*G] (rank 2 or 1); got rank 3, shape [2, 3, 4]. (Parameter*");
        FluentActions.Invoking(() => GroupAdvantages.Compute(r0)).Should().Throw<ArgumentException>()
            .WithParameterName("rewards")
            .WithMessage("*got rank 0, shape []. (Parameter*");
    }

    [Fact]
    public void An_empty_batch_is_rejected()
    {
        using torch.Tensor r = torch.zeros(0, 4, torch.ScalarType.Float32);

        FluentActions.Invoking(() => GroupAdvantages.Compute(r)).Should().Throw<ArgumentException>()
            .WithParameterName("rewards")
            .WithMessage("rewards must hold at least one group; got shape [0, 4]. (Parameter*");
    }

    [Theory]
    [InlineData(torch.ScalarType.Int64)]
    [InlineData(torch.ScalarType.Int32)]
    [InlineData(torch.ScalarType.Bool)]
    public void Integer_and_bool_rewards_are_rejected(torch.ScalarType dtype)
    {
        using torch.Tensor r = torch.zeros(2, 4, dtype);

        FluentActions.Invoking(() => GroupAdvantages.Compute(r)).Should().Throw<ArgumentException>()
            .WithParameterName("rewards")
            .WithMessage($"rewards must be float32, float64, bfloat16 or float16; got {dtype}. (Parameter*");
    }

    [Fact]
    public void Component_and_weight_counts_must_match()
    {
        using torch.Tensor a = torch.zeros(2, 4);
        using torch.Tensor b = torch.zeros(2, 4);

        FluentActions.Invoking(() => GroupAdvantages.Compute([a, b], [1.0])).Should().Throw<ArgumentException>()
            .WithParameterName("weights")
            .WithMessage("weights must hold one weight per component: components has 2 tensor(s) but weights has 1 value(s). (Parameter*");
        FluentActions.Invoking(() => GroupAdvantages.Compute([], [])).Should().Throw<ArgumentException>()
            .WithParameterName("components")
            .WithMessage("components must hold at least one reward tensor; got none. (Parameter*");
    }

    [Fact]
    public void Weights_must_be_finite_and_components_not_null()
    {
        using torch.Tensor a = torch.zeros(2, 4);

        FluentActions.Invoking(() => GroupAdvantages.Compute([a, a], [1.0, double.NaN])).Should().Throw<ArgumentException>()
            .WithParameterName("weights")
            .WithMessage("weights[1] must be finite; got NaN. (Parameter*");
        FluentActions.Invoking(() => GroupAdvantages.Compute([a, null!], [1.0, 1.0])).Should().Throw<ArgumentException>()
            .WithParameterName("components")
            .WithMessage("components[1] is null. (Parameter*");
    }

    [Fact]
    public void Components_must_share_shape_dtype_and_device()
    {
        using torch.Tensor a = torch.zeros(2, 4);
        using torch.Tensor wide = torch.zeros(2, 8);
        using torch.Tensor f64 = torch.zeros(2, 4, torch.ScalarType.Float64);
        using torch.Tensor meta = torch.empty(2, 4, device: new torch.Device(DeviceType.META));

        FluentActions.Invoking(() => GroupAdvantages.Compute([a, wide], [1.0, 1.0])).Should().Throw<ArgumentException>()
            .WithParameterName("components")
            .WithMessage("Every component must have the same shape: components[1] has shape [2, 8] but components[0] has shape [2, 4]. (Parameter*");
        FluentActions.Invoking(() => GroupAdvantages.Compute([a, f64], [1.0, 1.0])).Should().Throw<ArgumentException>()
            .WithParameterName("components")
            .WithMessage("Every component must have the same dtype: components[1] is Float64 but components[0] is Float32. (Parameter*");
        FluentActions.Invoking(() => GroupAdvantages.Compute([a, meta], [1.0, 1.0])).Should().Throw<ArgumentException>()
            .WithParameterName("components")
            .WithMessage("Every component must be on the same device: components[1] is on meta* but components[0] is on cpu*");
    }

    [Theory]
    [MemberData(nameof(AdvantageTestData.Kernels), MemberType = typeof(AdvantageTestData))]
    public void Infinite_rewards_are_rejected_with_their_position(string kernel)
    {
        using torch.Tensor r = Rewards(new double[,] { { 1, 2, 3, 4 }, { 5, double.NegativeInfinity, 6, double.PositiveInfinity } });

        FluentActions.Invoking(() => GroupAdvantages.Compute(r, Options().WithKernel(kernel))).Should().Throw<ArgumentException>()
            .WithParameterName("rewards")
            .WithMessage("rewards holds 2 infinite value(s), the first at flat index 5; a reward that could not be computed must be NaN, not infinity. (Parameter*");
    }

    [Theory]
    [MemberData(nameof(AdvantageTestData.Kernels), MemberType = typeof(AdvantageTestData))]
    public void An_overflowing_weighted_sum_is_rejected(string kernel)
    {
        using torch.Tensor a = Rewards(new double[,] { { 1e308, 1, 2, 3 } });

        FluentActions.Invoking(() => GroupAdvantages.Compute([a, a], [1.0, 1.0], Options().WithKernel(kernel))).Should().Throw<ArgumentException>()
            .WithParameterName("components")
            .WithMessage("The weighted sum of components overflows to infinity at 1 rollout(s); scale the rewards or the weights down. (Parameter*");
    }

    [Fact]
    public void The_managed_kernel_refuses_inputs_it_cannot_read()
    {
        using torch.Tensor bf16 = torch.zeros(2, 4, torch.ScalarType.BFloat16);
        using torch.Tensor strided = torch.zeros(4, 2, torch.ScalarType.Float32).t();

        FluentActions.Invoking(() => GroupAdvantages.Compute(bf16, Options(kernel: "managed"))).Should().Throw<ArgumentException>()
            .WithParameterName("rewards")
            .WithMessage("The managed advantage kernel cannot run on these inputs: rewards is BFloat16, not float32 or float64. (Parameter*");
        FluentActions.Invoking(() => GroupAdvantages.Compute(strided, Options(kernel: "managed"))).Should().Throw<ArgumentException>()
            .WithParameterName("rewards")
            .WithMessage("The managed advantage kernel cannot run on these inputs: rewards is not contiguous. (Parameter*");
    }

    [Fact]
    public void Strided_rewards_fall_back_to_the_tensor_kernel()
    {
        // The transpose of [[1, 3], [2, 4]]ᵀ is [[1, 2], [3, 4]] (non-contiguous): mean-centred A = [-0.5, 0.5, -0.5, 0.5].
        using torch.Tensor stored = Rewards(new double[,] { { 1, 3 }, { 2, 4 } });
        using torch.Tensor strided = stored.t();
        using AdvantageResult result = GroupAdvantages.Compute(strided, Options(AdvantageNormalization.MeanCentered));

        Read(result.Advantages).Should().Equal(-0.5, 0.5, -0.5, 0.5);
    }
}
