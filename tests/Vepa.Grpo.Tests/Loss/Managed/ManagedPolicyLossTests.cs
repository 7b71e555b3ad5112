using TorchSharp;
using static TorchSharp.torch;
using Shape = Vepa.Grpo.Tests.LossTestData.Shape;

namespace Vepa.Grpo.Tests;

/// <summary>What is specific to the managed kernel: when it can run, dispatch, determinism, autograd plumbing, the parallel
/// path and its invalid-value checks. (Its numbers over the whole option space are checked in <see cref="PolicyLossKernelTests"/>.)</summary>
public sealed class ManagedPolicyLossTests
{
    private const double Float64Tolerance = 1e-10;
    private const double Float32Tolerance = 1e-5;

    private static readonly PolicyLossOptions Vepa = new() { Beta = 0.01, KlEstimator = KlEstimator.K3 };

    private static readonly PolicyLossOptions Busy = new()
    {
        RatioLevel = RatioLevel.Sequence,
        Aggregation = LossAggregation.TokenMean,
        Delta = 1.6,
        DualClip = 3,
        LogRatioClamp = 0.5,
        Beta = 0.04,
        KlEstimator = KlEstimator.K3,
        KlLogRatioClamp = 0.3,
        KlValueClamp = 0.05,
        SamplerCorrection = SamplerCorrectionMode.Mask,
        SamplerCorrectionMin = 0.5,
        SamplerCorrectionMax = 1.8,
    };

    [Fact]
    public void CanRun_accepts_contiguous_cpu_float_tensors_with_bool_or_float_masks()
    {
        using var scope = NewDisposeScope();
        foreach (ScalarType dtype in new[] { ScalarType.Float32, ScalarType.Float64 })
        {
            foreach (bool floatMask in new[] { false, true })
            {
                PolicyLossInputs inputs = LossTestData.Random(1, new Shape(3, 5) { Dtype = dtype, FloatMask = floatMask });
                ManagedPolicyLoss.CanRun(inputs, out string? reason).Should().BeTrue(reason);
                reason.Should().BeNull();
            }
        }
    }

    [Fact]
    public void CanRun_names_a_non_contiguous_tensor()
    {
        using var scope = NewDisposeScope();
        PolicyLossInputs inputs = LossTestData.Random(2, new Shape(3, 5));
        PolicyLossInputs transposed = inputs with { LogProbs = inputs.LogProbs.detach().t().contiguous().t() };

        ManagedPolicyLoss.CanRun(transposed, out string? reason).Should().BeFalse();
        reason.Should().Be("LogProbs is not contiguous (shape [3, 5], strides [1, 3]); the managed kernel reads memory in place.");

        PolicyLossInputs maskView = inputs with { Mask = inputs.Mask.t().contiguous().t() };
        ManagedPolicyLoss.CanRun(maskView, out reason).Should().BeFalse();
        reason.Should().StartWith("Mask is not contiguous");
    }

    [Fact]
    public void CanRun_rejects_unsupported_and_mixed_dtypes()
    {
        using var scope = NewDisposeScope();
        PolicyLossInputs inputs = LossTestData.Random(3, new Shape(3, 5) { Dtype = ScalarType.Float32 });

        ManagedPolicyLoss.CanRun(inputs with { LogProbs = inputs.LogProbs.detach().to(ScalarType.Float16) }, out string? reason).Should().BeFalse();
        reason.Should().Be("LogProbs has dtype Float16; the managed kernel needs Float32 or Float64.");

        ManagedPolicyLoss.CanRun(inputs with { OldLogProbs = inputs.OldLogProbs!.to(ScalarType.Float64) }, out reason).Should().BeFalse();
        reason.Should().Be("OldLogProbs has dtype Float64 but LogProbs has Float32; the managed kernel needs one float dtype.");

        ManagedPolicyLoss.CanRun(inputs with { Advantages = inputs.Advantages.to(ScalarType.Float64) }, out reason).Should().BeFalse();
        reason.Should().Be("Advantages has dtype Float64 but LogProbs has Float32; the managed kernel needs one float dtype.");

        ManagedPolicyLoss.CanRun(inputs with { Mask = inputs.Mask.to(ScalarType.Float64) }, out reason).Should().BeFalse();
        reason.Should().Be("Mask has dtype Float64; the managed kernel needs Bool, Byte or the dtype of LogProbs (Float32).");
    }

    [Fact]
    public void Managed_kernel_refuses_a_transposed_view_with_the_reason()
    {
        using var scope = NewDisposeScope();
        PolicyLossInputs inputs = Transposed(LossTestData.Random(4, new Shape(4, 6)), out _);
        PolicyLossOptions options = Vepa.Clone();
        options.Kernel = "managed";

        Action act = () => PolicyLoss.Compute(inputs, options);

        act.Should().Throw<ArgumentException>()
            .WithMessage("The managed kernel cannot run on these inputs: LogProbs is not contiguous (shape [4, 6], strides [1, 4])*")
            .And.ParamName.Should().Be("inputs");
    }

    [Fact]
    public void Auto_runs_the_managed_kernel_on_contiguous_cpu_inputs_and_the_fused_kernel_otherwise()
    {
        using var scope = NewDisposeScope();
        PolicyLossInputs inputs = LossTestData.Random(5, new Shape(8, 97) { Dtype = ScalarType.Float32 });
        var auto = LossTestData.RunKernel(inputs, Vepa, "auto");
        var managed = LossTestData.RunKernel(inputs, Vepa, "managed");
        var fused = LossTestData.RunKernel(inputs, Vepa, "fused-tensor");

        // The two kernels round differently in float32, so bit-identity tells which one ran.
        (BitsEqual(managed, fused)).Should().BeFalse("the test needs inputs on which the kernels' roundings differ");
        BitsEqual(auto, managed).Should().BeTrue("Auto picks the managed kernel for contiguous CPU float32");

        PolicyLossInputs view = Transposed(inputs, out Tensor leaf);
        (double autoLoss, Tensor autoGrad) = LossAndGradient(view, Vepa, "auto", leaf);
        (double fusedLoss, Tensor fusedGrad) = LossAndGradient(view, Vepa, "fused-tensor", leaf);
        autoLoss.Should().Be(fusedLoss, "Auto falls back to the fused kernel for a non-contiguous view");
        SameBits(autoGrad, fusedGrad).Should().BeTrue();
    }

    [Theory]
    [InlineData(ScalarType.Float32)]
    [InlineData(ScalarType.Float64)]
    public void Results_are_bit_for_bit_identical_across_runs(ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        foreach (PolicyLossOptions options in new[] { Vepa, Busy })
        {
            PolicyLossInputs inputs = LossTestData.Random(6, new Shape(64, 1024) { Dtype = dtype });
            var first = LossTestData.RunKernel(inputs, options, "managed");
            for (int run = 0; run < 3; run++)
            {
                var again = LossTestData.RunKernel(inputs, options, "managed");
                BitConverter.DoubleToInt64Bits(again.Loss).Should().Be(BitConverter.DoubleToInt64Bits(first.Loss));
                again.Statistics.Should().Be(first.Statistics);
                SameBits(again.Gradient, first.Gradient).Should().BeTrue("the gradient must not depend on the thread schedule");
            }
        }
    }

    public static TheoryData<ScalarType, int, int> LargeCases() => new()
    {
        { ScalarType.Float64, 48, 1003 },
        { ScalarType.Float32, 48, 1003 },
        { ScalarType.Float32, 7, 8191 },
    };

    [Theory]
    [MemberData(nameof(LargeCases))]
    public void Parallel_row_blocks_match_the_autograd_reference(ScalarType dtype, int b, int t)
    {
        using var scope = NewDisposeScope();
        double tolerance = dtype == ScalarType.Float64 ? Float64Tolerance : Float32Tolerance;
        PolicyLossOptions cispo = new()
        {
            Objective = PolicyObjective.Cispo,
            EpsilonHigh = 1.3,
            Aggregation = LossAggregation.ConstantNormalizer,
            Beta = 0.05,
            KlEstimator = KlEstimator.K2,
            SamplerCorrection = SamplerCorrectionMode.Truncate,
            SamplerCorrectionPerSequence = true,
        };
        foreach (PolicyLossOptions options in new[] { Vepa, Busy, cispo })
        {
            PolicyLossInputs inputs = LossTestData.Random(7, new Shape(b, t) { Dtype = dtype, PerTokenAdvantages = options == Busy });
            LossTestData.AssertMatchesReference(inputs, options, "managed", tolerance);
        }

        PolicyLossInputs onPolicy = LossTestData.Random(8, new Shape(b, t) { Dtype = dtype, WithOld = false, FloatMask = true });
        LossTestData.AssertMatchesReference(onPolicy, Vepa, "managed", tolerance);
    }

    [Theory]
    [InlineData(ScalarType.Float32, 9, 301)]
    [InlineData(ScalarType.Float64, 9, 301)]
    [InlineData(ScalarType.Float32, 40, 1001)]
    public void Masked_out_padding_does_not_change_a_single_bit(ScalarType dtype, int b, int t)
    {
        // The padding holds NaN, ±inf and 1e30 (which sends its vector of lanes down the exponential's wide path); every
        // valid lane must still be computed exactly as with zeros there.
        using var scope = NewDisposeScope();
        foreach (PolicyLossOptions options in new[] { Vepa, Busy })
        {
            PolicyLossInputs dirty = LossTestData.Random(15, new Shape(b, t) { Dtype = dtype, PerTokenAdvantages = options == Busy });
            Tensor invalid = dirty.Mask.logical_not();
            Tensor Zeroed(Tensor x) => x.detach().masked_fill(invalid, 0.0);
            PolicyLossInputs clean = dirty with
            {
                LogProbs = Zeroed(dirty.LogProbs).requires_grad_(),
                Advantages = options == Busy ? Zeroed(dirty.Advantages) : dirty.Advantages,
                OldLogProbs = Zeroed(dirty.OldLogProbs!),
                ReferenceLogProbs = Zeroed(dirty.ReferenceLogProbs!),
                SamplerLogProbs = Zeroed(dirty.SamplerLogProbs!),
            };

            var fromDirty = LossTestData.RunKernel(dirty, options, "managed");
            var fromClean = LossTestData.RunKernel(clean, options, "managed");
            BitsEqual(fromDirty, fromClean).Should().BeTrue();
            fromDirty.Statistics.Should().Be(fromClean.Statistics);
        }
    }

    [Fact]
    public void Gradient_flows_into_log_probs_that_come_from_an_upstream_op()
    {
        using var scope = NewDisposeScope();
        const int B = 4, T = 37, V = 11;
        var generator = new Generator(2024);
        Tensor logits = randn(B, T, V, dtype: ScalarType.Float64, generator: generator).requires_grad_();
        Tensor targets = randint(0, V, [B, T, 1], generator: generator);
        PolicyLossInputs template = LossTestData.Random(9, new Shape(B, T));
        Tensor LogProbs() => logits.log_softmax(-1).gather(-1, targets).squeeze(-1);
        PolicyLossInputs inputs = template with
        {
            LogProbs = LogProbs(),
            OldLogProbs = LogProbs().detach() + (0.2 * randn(B, T, dtype: ScalarType.Float64, generator: generator)),
            ReferenceLogProbs = LogProbs().detach() + (0.3 * randn(B, T, dtype: ScalarType.Float64, generator: generator)),
        };
        inputs.LogProbs.is_leaf.Should().BeFalse();

        // The reference first, keeping the shared upstream graph (log_softmax, gather) for the kernel's backward.
        (Tensor referenceLoss, _) = ReferencePolicyLoss.Compute(inputs, Vepa);
        Tensor expected = autograd.grad([referenceLoss], [logits], retain_graph: true)[0];

        PolicyLossOptions options = Vepa.Clone();
        options.Kernel = "managed";
        using PolicyLossResult result = PolicyLoss.Compute(inputs, options);
        result.Loss.backward();
        Tensor actual = logits.grad!.clone();
        LossTestData.AssertClose(result.Loss.item<double>(), referenceLoss.item<double>(), Float64Tolerance, "loss");
        LossTestData.AssertTensorClose(actual, expected, Float64Tolerance, "d loss / d logits");
    }

    [Fact]
    public void Gradients_accumulate_over_backward_calls_and_scale_with_the_incoming_gradient()
    {
        using var scope = NewDisposeScope();
        PolicyLossInputs inputs = LossTestData.Random(10, new Shape(6, 41));
        Tensor g1 = LossTestData.RunReference(inputs, Vepa).Gradient;
        Tensor g2 = LossTestData.RunReference(inputs, Busy).Gradient;

        PolicyLossOptions first = Vepa.Clone();
        first.Kernel = "managed";
        PolicyLossOptions second = Busy.Clone();
        second.Kernel = "managed";

        using (PolicyLossResult r1 = PolicyLoss.Compute(inputs, first))
        {
            r1.Loss.backward();
        }

        LossTestData.AssertTensorClose(inputs.LogProbs.grad!, g1, Float64Tolerance, "grad after one backward");

        using (PolicyLossResult r2 = PolicyLoss.Compute(inputs, second))
        {
            // Twice through one graph (retain_graph), once seeded with 3: the saved gradient is scaled by the incoming one.
            r2.Loss.backward(retain_graph: true);
            r2.Loss.backward([tensor(3.0, ScalarType.Float64)]);
        }

        LossTestData.AssertTensorClose(inputs.LogProbs.grad!, g1 + (4 * g2), Float64Tolerance, "accumulated grad");
    }

    [Fact]
    public void Without_a_gradient_the_loss_is_a_plain_value()
    {
        using var scope = NewDisposeScope();
        PolicyLossInputs inputs = LossTestData.Random(11, new Shape(5, 33));
        PolicyLossOptions options = Vepa.Clone();
        options.Kernel = "managed";
        double expected = LossTestData.RunReference(inputs, Vepa).Loss;

        using (PolicyLossResult detached = PolicyLoss.Compute(inputs with { LogProbs = inputs.LogProbs.detach() }, options))
        {
            detached.Loss.requires_grad.Should().BeFalse();
            LossTestData.AssertClose(detached.Loss.item<double>(), expected, Float64Tolerance, "loss without grad");
        }

        using (no_grad())
        using (PolicyLossResult noGrad = PolicyLoss.Compute(inputs, options))
        {
            noGrad.Loss.requires_grad.Should().BeFalse();
            LossTestData.AssertClose(noGrad.Loss.item<double>(), expected, Float64Tolerance, "loss under no_grad");
        }
    }

    [Theory]
    [InlineData(ScalarType.Float32, 2, 9)]
    [InlineData(ScalarType.Float64, 40, 1001)]
    public void A_non_finite_value_at_a_valid_position_is_named(ScalarType dtype, int b, int t)
    {
        using var scope = NewDisposeScope();
        PolicyLossOptions options = Busy.Clone();
        options.Kernel = "managed";
        PolicyLossInputs inputs = LossTestData.Random(12, new Shape(b, t) { Dtype = dtype, EmptyRow = false });
        int row = b - 1;
        using (no_grad())
        {
            inputs.Mask[row, 0] = tensor(true);
            inputs.ReferenceLogProbs![row, 0] = tensor(double.PositiveInfinity, dtype);
        }

        Action act = () => PolicyLoss.Compute(inputs, options);

        act.Should().Throw<ArgumentException>()
            .WithMessage($"ReferenceLogProbs holds Infinity at [{row}, 0], a valid (masked-in) position (1 such position(s))*")
            .And.ParamName.Should().Be("inputs.ReferenceLogProbs");

        // The reference log-probs are not read when β = 0, so the same input is fine then.
        options.Beta = 0;
        using PolicyLossResult result = PolicyLoss.Compute(inputs, options);
        double.IsFinite(result.Loss.to(ScalarType.Float64).item<double>()).Should().BeTrue();
    }

    [Fact]
    public void A_float_mask_value_other_than_0_or_1_is_rejected()
    {
        using var scope = NewDisposeScope();
        PolicyLossInputs inputs = LossTestData.Random(13, new Shape(3, 20) { FloatMask = true });
        using (no_grad())
        {
            inputs.Mask[1, 2] = tensor(0.5, ScalarType.Float64);
        }

        PolicyLossOptions options = Vepa.Clone();
        options.Kernel = "managed";
        Action act = () => PolicyLoss.Compute(inputs, options);

        act.Should().Throw<ArgumentException>().WithMessage("Mask must hold only 0 and 1; found 0.5 at [1, 2]*");
    }

    [Fact]
    public void Finite_inputs_whose_difference_overflows_are_rejected_like_the_fused_kernel()
    {
        using var scope = NewDisposeScope();
        PolicyLossInputs inputs = LossTestData.Random(14, new Shape(2, 16) { Dtype = ScalarType.Float32, EmptyRow = false });
        using (no_grad())
        {
            inputs.Mask[0, 0] = tensor(true);
            inputs.LogProbs[0, 0] = tensor(3e38f);
            inputs.OldLogProbs![0, 0] = tensor(-3e38f);
        }

        PolicyLossOptions options = new() { Kernel = "managed" };
        Action act = () => PolicyLoss.Compute(inputs, options).Dispose();

        act.Should().Throw<ArgumentException>()
            .WithMessage("The log-probs are finite but so large in magnitude that their differences overflow*")
            .And.ParamName.Should().Be("inputs");
    }

    private static bool BitsEqual((double Loss, PolicyLossStatistics Statistics, Tensor Gradient) a, (double Loss, PolicyLossStatistics Statistics, Tensor Gradient) b)
        => BitConverter.DoubleToInt64Bits(a.Loss) == BitConverter.DoubleToInt64Bits(b.Loss) && SameBits(a.Gradient, b.Gradient);

    private static bool SameBits(Tensor a, Tensor b)
    {
        using Tensor ac = a.contiguous();
        using Tensor bc = b.contiguous();
        return ac.dtype == bc.dtype && ac.shape.SequenceEqual(bc.shape) && ac.bytes.SequenceEqual(bc.bytes);
    }

    /// <summary>The same inputs with LogProbs as a transposed (non-contiguous) view of a leaf [T, B] tensor.</summary>
    private static PolicyLossInputs Transposed(PolicyLossInputs inputs, out Tensor leaf)
    {
        leaf = inputs.LogProbs.detach().t().contiguous().requires_grad_();
        return inputs with { LogProbs = leaf.t() };
    }

    private static (double Loss, Tensor Gradient) LossAndGradient(PolicyLossInputs inputs, PolicyLossOptions options, string kernel, Tensor leaf)
    {
        PolicyLossOptions o = options.Clone();
        o.Kernel = kernel;
        using PolicyLossResult result = PolicyLoss.Compute(inputs, o);
        return (result.Loss.to(ScalarType.Float64).item<double>(), autograd.grad([result.Loss], [leaf])[0]);
    }
}
