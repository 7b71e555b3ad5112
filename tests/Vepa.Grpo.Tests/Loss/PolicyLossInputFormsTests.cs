using TorchSharp;
using static TorchSharp.torch;

namespace Vepa.Grpo.Tests.Loss;

public sealed class PolicyLossInputFormsTests
{
    private static readonly PolicyLossOptions Vepa = new() { Beta = 0.01, KlEstimator = KlEstimator.K3 };

    public static TheoryData<string, ScalarType> KernelsAndMaskTypes()
    {
        var data = new TheoryData<string, ScalarType>();
        foreach (var kernel in new[] { "fused-tensor", "managed", "auto" })
        {
            foreach (var dtype in new[] { ScalarType.Int64, ScalarType.Int32, ScalarType.Byte })
            {
                data.Add(kernel, dtype);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(KernelsAndMaskTypes))]
    public void Integer_masks_give_the_reference_result(string kernel, ScalarType maskType)
    {
        using var scope = NewDisposeScope();
        PolicyLossInputs inputs = LossTestData.Random(11, new LossTestData.Shape(6, 13));
        var withIntegerMask = inputs with { Mask = inputs.Mask.to(maskType) };
        LossTestData.AssertMatchesReference(withIntegerMask, Vepa, kernel, 1e-10);
    }

    [Theory]
    [InlineData("fused-tensor")]
    [InlineData("managed")]
    public void An_integer_mask_value_other_than_0_or_1_is_rejected_with_its_position(string kernel)
    {
        using var scope = NewDisposeScope();
        PolicyLossInputs inputs = LossTestData.Random(12, new LossTestData.Shape(4, 9));
        Tensor mask = inputs.Mask.to(ScalarType.Int64);
        mask[2, 3] = tensor(2L);
        var options = Vepa.Clone();
        options.Kernel = kernel;
        var act = () => PolicyLoss.Compute(inputs with { Mask = mask }, options);
        var error = act.Should().Throw<ArgumentException>().Which;
        error.ParamName.Should().Be("inputs.Mask");
        error.Message.Should().StartWith("Mask must hold only 0 and 1; found 2 at [2, 3]");
    }

    [Fact]
    public void Auto_converts_float64_constants_for_float32_log_probs_and_still_runs_the_managed_kernel()
    {
        using var scope = NewDisposeScope();
        PolicyLossInputs inputs = LossTestData.Random(13, new LossTestData.Shape(8, 97) { Dtype = ScalarType.Float32 });
        var mixed = inputs with
        {
            Advantages = inputs.Advantages.to(ScalarType.Float64),
            OldLogProbs = inputs.OldLogProbs!.to(ScalarType.Float64),
            Mask = inputs.Mask.to(ScalarType.Int64),
        };

        var auto = LossTestData.RunKernel(mixed, Vepa, "auto");
        var managed = LossTestData.RunKernel(inputs, Vepa, "managed");
        var fused = LossTestData.RunKernel(inputs, Vepa, "fused-tensor");
        (managed.Loss == fused.Loss && managed.Gradient.eq(fused.Gradient).all().item<bool>()).Should().BeFalse("the kernels must round differently here for the check to tell them apart");
        auto.Loss.Should().Be(managed.Loss, "Auto converts the float64 constants and runs the managed kernel");
        auto.Gradient.eq(managed.Gradient).all().item<bool>().Should().BeTrue();
        LossTestData.AssertMatchesReference(mixed, Vepa, "auto", 1e-5);
    }

    public static TheoryData<string, string> DoubleBackwardCases()
    {
        var data = new TheoryData<string, string>();
        foreach (var kernel in new[] { "fused-tensor", "managed" })
        {
            foreach (string variant in new[] { "vepa", "gspo", "cispo", "dual-clip-token-mean", "on-policy" })
            {
                data.Add(kernel, variant);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(DoubleBackwardCases))]
    public void Under_create_graph_the_gradient_is_differentiable_and_second_derivatives_match_the_reference(string kernel, string variant)
    {
        using var scope = NewDisposeScope();
        PolicyLossOptions options = variant switch
        {
            "gspo" => new() { RatioLevel = RatioLevel.Sequence, EpsilonLow = 0.05, EpsilonHigh = 0.08, Beta = 0.02, KlEstimator = KlEstimator.K2 },
            "cispo" => new() { Objective = PolicyObjective.Cispo, EpsilonHigh = 1.2, Aggregation = LossAggregation.TokenMean, Beta = 0.01 },
            "dual-clip-token-mean" => new() { DualClip = 3, LogRatioClamp = 20, Aggregation = LossAggregation.TokenMean, Beta = 0.01 },
            _ => Vepa.Clone(),
        };
        options.Kernel = kernel;
        PolicyLossInputs inputs = LossTestData.Random(21, new LossTestData.Shape(5, 11) { WithOld = variant != "on-policy", WithSampler = false });
        using var generator = new Generator(5UL, CPU);
        Tensor v = randn(inputs.LogProbs.shape, ScalarType.Float64, generator: generator);

        // Differentiate through an intermediate, as a trainer's log-probs are.
        Tensor leaf = inputs.LogProbs;
        Tensor logProbs = leaf * 1.0;
        using PolicyLossResult result = PolicyLoss.Compute(inputs with { LogProbs = logProbs }, options);
        Tensor g = autograd.grad([result.Loss], [leaf], retain_graph: true, create_graph: true)[0];
        g.requires_grad.Should().BeTrue();
        Tensor second = autograd.grad([(g * v).sum()], [leaf])[0];

        Tensor expectedLeaf = inputs.LogProbs.detach().clone().requires_grad_();
        var (loss, _) = ReferencePolicyLoss.Compute(inputs with { LogProbs = expectedLeaf * 1.0 }, options);
        Tensor ge = autograd.grad([loss], [expectedLeaf], retain_graph: true, create_graph: true)[0];
        Tensor expectedSecond = autograd.grad([(ge * v).sum()], [expectedLeaf], allow_unused: true)[0];
        if (expectedSecond is null || expectedSecond.IsInvalid)
        {
            expectedSecond = zeros_like(expectedLeaf);
        }

        LossTestData.AssertTensorClose(g, ge, 1e-10, "first derivative");
        double scale = Math.Max(expectedSecond.abs().max().item<double>(), 1e-12);
        ((second - expectedSecond).abs().max().item<double>() / scale).Should().BeLessThan(1e-9, "second derivative");
    }
}
