using TorchSharp;
using static TorchSharp.torch;
using Shape = Vepa.Grpo.Tests.LossTestData.Shape;

namespace Vepa.Grpo.Tests;

/// <summary>Bad inputs and options are rejected with messages that name the argument and show the actual values.</summary>
public sealed class PolicyLossValidationTests
{
    public static TheoryData<string> KernelData() => new(LossTestData.Kernels);

    private static PolicyLossInputs Valid(int b = 8, int t = 16) => LossTestData.Random(3, new Shape(b, t));

    private static ArgumentException Reject(PolicyLossInputs inputs, PolicyLossOptions? options = null)
    {
        Action act = () => PolicyLoss.Compute(inputs, options).Dispose();
        return act.Should().Throw<ArgumentException>().Which;
    }

    [Fact]
    public void Advantages_of_the_wrong_shape_are_rejected()
    {
        using var scope = NewDisposeScope();
        ArgumentException e = Reject(Valid() with { Advantages = zeros(7, dtype: ScalarType.Float64) });
        e.ParamName.Should().Be("inputs.Advantages");
        e.Message.Should().StartWith("Advantages must have shape [B] = [8] or [B, T] = [8, 16]; got [7].");

        Reject(Valid() with { Advantages = zeros(8, 15, dtype: ScalarType.Float64) }).Message
            .Should().StartWith("Advantages must have shape [B] = [8] or [B, T] = [8, 16]; got [8, 15].");
    }

    [Fact]
    public void Tensors_that_disagree_with_LogProbs_in_shape_are_rejected()
    {
        using var scope = NewDisposeScope();
        ArgumentException mask = Reject(Valid() with { Mask = ones(8, 17, dtype: ScalarType.Bool) });
        mask.ParamName.Should().Be("inputs.Mask");
        mask.Message.Should().StartWith("Mask must have shape [B, T] = [8, 16] like LogProbs; got [8, 17].");

        ArgumentException old = Reject(Valid() with { OldLogProbs = zeros(16, 8, dtype: ScalarType.Float64) });
        old.ParamName.Should().Be("inputs.OldLogProbs");
        old.Message.Should().StartWith("OldLogProbs must have shape [B, T] = [8, 16] like LogProbs; got [16, 8].");

        ArgumentException logp = Reject(Valid() with { LogProbs = zeros(8, 16, 1) });
        logp.ParamName.Should().Be("inputs.LogProbs");
        logp.Message.Should().StartWith("LogProbs must have shape [B, T]; got [8, 16, 1].");

        Reject(Valid() with { LogProbs = zeros(0, 16) }).Message.Should().StartWith("LogProbs must have B >= 1 and T >= 1; got [0, 16].");
    }

    [Fact]
    public void Unsupported_dtypes_are_rejected()
    {
        using var scope = NewDisposeScope();
        ArgumentException logp = Reject(Valid() with { LogProbs = zeros(8, 16, dtype: ScalarType.Int64) });
        logp.ParamName.Should().Be("inputs.LogProbs");
        logp.Message.Should().StartWith("LogProbs must be float32, float64, bfloat16 or float16; got Int64.");

        ArgumentException mask = Reject(Valid() with { Mask = ones(8, 16, dtype: ScalarType.Int16) });
        mask.ParamName.Should().Be("inputs.Mask");
        mask.Message.Should().StartWith("Mask must be bool, an integer tensor (uint8, int32, int64) or a floating tensor holding 0/1; got Int16.");

        Reject(Valid() with { Advantages = zeros(8, dtype: ScalarType.Int32) }).Message
            .Should().StartWith("Advantages must be float32, float64, bfloat16 or float16; got Int32.");
    }

    [Fact]
    public void Tensors_on_another_device_are_rejected()
    {
        using var scope = NewDisposeScope();
        ArgumentException e = Reject(Valid() with { Mask = empty(8, 16, dtype: ScalarType.Bool, device: META) });
        e.ParamName.Should().Be("inputs.Mask");
        e.Message.Should().StartWith("Mask is on meta but LogProbs is on cpu; all inputs must be on one device.");
    }

    [Fact]
    public void Tensors_the_options_need_are_required()
    {
        using var scope = NewDisposeScope();
        ArgumentException reference = Reject(Valid() with { ReferenceLogProbs = null }, new PolicyLossOptions { Beta = 0.04 });
        reference.ParamName.Should().Be("inputs.ReferenceLogProbs");
        reference.Message.Should().StartWith("ReferenceLogProbs are required when Beta > 0 (Beta = 0.04).");

        var sampling = new PolicyLossOptions { SamplerCorrection = SamplerCorrectionMode.Truncate };
        ArgumentException sampler = Reject(Valid() with { SamplerLogProbs = null }, sampling);
        sampler.ParamName.Should().Be("inputs.SamplerLogProbs");
        sampler.Message.Should().StartWith("SamplerLogProbs are required when SamplerCorrection is Truncate.");

        ArgumentException old = Reject(Valid() with { OldLogProbs = null }, sampling);
        old.ParamName.Should().Be("inputs.OldLogProbs");
        old.Message.Should().StartWith("OldLogProbs are required when SamplerCorrection is Truncate");
    }

    [Fact]
    public void Tensors_the_options_do_not_use_are_not_needed_and_not_checked()
    {
        using var scope = NewDisposeScope();
        PolicyLossInputs inputs = Valid() with { ReferenceLogProbs = zeros(3), SamplerLogProbs = null };
        using PolicyLossResult result = PolicyLoss.Compute(inputs, new PolicyLossOptions { Kernel = "fused-tensor" });
        result.Statistics.MeanKl.Should().Be(0);
    }

    [Fact]
    public void Invalid_options_are_rejected_with_every_problem_listed()
    {
        using var scope = NewDisposeScope();
        ArgumentException delta = Reject(Valid(), new PolicyLossOptions { EpsilonHigh = 0.28, Delta = 1.2 });
        delta.ParamName.Should().Be("options");
        delta.Message.Should().Contain("Delta must be > 1 + EpsilonHigh (1.28); got 1.2.");

        ArgumentException cispo = Reject(Valid(), new PolicyLossOptions { Objective = PolicyObjective.Cispo, EpsilonHigh = 5, DualClip = 3, Beta = -1 });
        cispo.Message.Should().Contain("Delta and DualClip apply to the Clip objective only; got Objective = Cispo with Delta = null, DualClip = 3.")
            .And.Contain("Beta must be finite and >= 0; got -1.");

        Reject(Valid(), new PolicyLossOptions { Aggregation = LossAggregation.ConstantNormalizer, MaxCompletionLength = 0 }).Message
            .Should().Contain("MaxCompletionLength must be >= 1; got 0.");
    }

    [Theory]
    [MemberData(nameof(KernelData))]
    public void NaN_at_a_valid_position_is_rejected_with_its_position(string kernel)
    {
        using var scope = NewDisposeScope();
        PolicyLossInputs inputs = LossTestData.Random(4, new Shape(3, 5) { EmptyRow = false });
        int b = 2;
        int t = 0;
        using (no_grad())
        {
            inputs.LogProbs[b, t] = tensor(double.NaN);
            inputs.LogProbs[b, 0].item<double>().Should().Be(double.NaN);
        }

        ArgumentException e = Reject(inputs, new PolicyLossOptions { Kernel = kernel });
        e.ParamName.Should().Be("inputs.LogProbs");
        e.Message.Should().StartWith("LogProbs holds NaN at [2, 0], a valid (masked-in) position (1 such position(s)); only masked-out positions may hold NaN or infinity.");
    }

    [Theory]
    [MemberData(nameof(KernelData))]
    public void Infinity_in_other_tensors_is_rejected_with_the_first_position(string kernel)
    {
        using var scope = NewDisposeScope();
        PolicyLossInputs inputs = LossTestData.Random(5, new Shape(3, 5) { EmptyRow = false });
        inputs.ReferenceLogProbs![1, 0] = tensor(double.NegativeInfinity);
        inputs.ReferenceLogProbs![2, 0] = tensor(double.NaN);
        var options = new PolicyLossOptions { Kernel = kernel, Beta = 0.1 };

        ArgumentException e = Reject(inputs, options);
        e.ParamName.Should().Be("inputs.ReferenceLogProbs");
        e.Message.Should().StartWith("ReferenceLogProbs holds -Infinity at [1, 0], a valid (masked-in) position (2 such position(s))");

        inputs.Advantages[1] = tensor(double.PositiveInfinity);
        options.Beta = 0;
        ArgumentException adv = Reject(inputs, options);
        adv.ParamName.Should().Be("inputs.Advantages");
        adv.Message.Should().StartWith("Advantages holds Infinity at [1], a sequence with valid tokens (1 such sequence(s)).");
    }

    [Fact]
    public void Finite_log_probs_whose_difference_overflows_are_rejected_by_the_fused_kernel()
    {
        // log π − log π_old = 1e308 − (−1e308) = +inf although both values are finite.
        using var scope = NewDisposeScope();
        var inputs = new PolicyLossInputs
        {
            LogProbs = tensor(new[] { 1e308, -1.0 }).reshape(1, 2).requires_grad_(),
            Advantages = tensor(new[] { 1.0 }),
            Mask = ones(1, 2, dtype: ScalarType.Bool),
            OldLogProbs = tensor(new[] { -1e308, -1.0 }).reshape(1, 2),
        };

        ArgumentException e = Reject(inputs, new PolicyLossOptions { Kernel = "fused-tensor" });
        e.ParamName.Should().Be("inputs");
        e.Message.Should().StartWith("The log-probs are finite but so large in magnitude that their differences overflow");
    }

    [Theory]
    [MemberData(nameof(KernelData))]
    public void A_float_mask_must_hold_only_0_and_1(string kernel)
    {
        using var scope = NewDisposeScope();
        PolicyLossInputs inputs = LossTestData.Random(6, new Shape(3, 5) { FloatMask = true });
        inputs.Mask[0, 3] = tensor(0.5);

        ArgumentException e = Reject(inputs, new PolicyLossOptions { Kernel = kernel });
        e.ParamName.Should().Be("inputs.Mask");
        e.Message.Should().StartWith("Mask must hold only 0 and 1; found 0.5 at [0, 3] (1 such value(s)).");
    }

    [Theory]
    [MemberData(nameof(KernelData))]
    public void NaN_and_infinity_at_masked_positions_are_ignored(string kernel)
    {
        // Random inputs put NaN / ±inf / 1e30 into every masked-out position; the result must equal the one with zeros there.
        using var scope = NewDisposeScope();
        PolicyLossInputs inputs = LossTestData.Random(7, new Shape(5, 8) { PerTokenAdvantages = true });
        var options = new PolicyLossOptions
        {
            Beta = 0.1, RatioLevel = RatioLevel.Sequence, SamplerCorrection = SamplerCorrectionMode.Truncate, SamplerCorrectionPerSequence = true,
        };
        Tensor invalid = inputs.Mask.logical_not();
        Tensor Zeroed(Tensor x) => x.detach().masked_fill(invalid, 0.0);
        PolicyLossInputs clean = new()
        {
            LogProbs = Zeroed(inputs.LogProbs).requires_grad_(),
            Advantages = Zeroed(inputs.Advantages),
            Mask = inputs.Mask,
            OldLogProbs = Zeroed(inputs.OldLogProbs!),
            ReferenceLogProbs = Zeroed(inputs.ReferenceLogProbs!),
            SamplerLogProbs = Zeroed(inputs.SamplerLogProbs!),
        };
        inputs.LogProbs.detach().isfinite().all().item<bool>().Should().BeFalse("the padding holds non-finite values");

        var dirty = LossTestData.RunKernel(inputs, options, kernel);
        var zeroed = LossTestData.RunKernel(clean, options, kernel);

        dirty.Loss.Should().Be(zeroed.Loss);
        dirty.Statistics.Should().Be(zeroed.Statistics);
        LossTestData.AssertTensorClose(dirty.Gradient, zeroed.Gradient, 0, "gradient");
    }
}
