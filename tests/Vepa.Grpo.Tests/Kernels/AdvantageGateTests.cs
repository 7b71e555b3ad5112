using TorchSharp;
using Vepa.Grpo.Kernels;
using static TorchSharp.torch;

namespace Vepa.Grpo.Tests.Kernels;

public sealed class AdvantageGateTests
{
    [Theory]
    [InlineData("tensor")]
    [InlineData("managed")]
    [InlineData("auto")]
    public void Every_built_in_advantage_kernel_passes_the_gate(string name)
    {
        var kernel = KernelRegistry.CreateDefault().AdvantageKernels.Single(k => k.Name == name);
        var report = KernelGate.CheckAdvantages(kernel);
        report.FirstMismatch.Should().BeNull();
        report.Passed.Should().BeTrue();
        report.CasesRun.Should().Be(2 * 4 * 3 * 4 * 3, "float64 and float32, four shapes, three forms, four modes, three ε");
    }

    [Fact]
    public void A_kernel_with_the_population_std_fails_at_the_first_group_std_case_and_is_named()
    {
        var report = KernelGate.CheckAdvantages(new Wrong(populationStd: true, nanAsZero: false));
        report.Passed.Should().BeFalse();
        report.FirstMismatch.Should().StartWith("case 1 (GroupStd, eps 0.0001, 1x4, Float64, gaussian): advantages: max |difference| ");
    }

    [Fact]
    public void A_kernel_that_treats_nan_rewards_as_zero_fails_at_the_first_nan_case_and_is_named()
    {
        var report = KernelGate.CheckAdvantages(new Wrong(populationStd: false, nanAsZero: true));
        report.Passed.Should().BeFalse();
        report.FirstMismatch.Should().StartWith("case 13 (GroupStd, eps 0.0001, 1x4, Float64, nan-rows): advantages");
    }

    [Fact]
    public void A_kernel_that_throws_is_reported_not_propagated()
    {
        var report = KernelGate.CheckAdvantages(new Throwing());
        report.FirstMismatch.Should().Be("case 1 (GroupStd, eps 0.0001, 1x4, Float64, gaussian): threw InvalidOperationException: no");
    }

    /// <summary>Group normalisation with tensor ops, wrong on purpose in one of two ways.</summary>
    private sealed class Wrong(bool populationStd, bool nanAsZero) : IAdvantageKernel
    {
        public string Name => "wrong";

        public Tensor Compute(Tensor rewards, AdvantageOptions options)
        {
            using var scope = NewDisposeScope();
            var x = rewards.to(ScalarType.Float64);
            var invalid = nanAsZero ? zeros_like(x, ScalarType.Bool) : x.isnan();
            x = x.nan_to_num(0.0);
            var n = invalid.logical_not().sum(1, keepdim: true, type: ScalarType.Float64);
            var mean = x.masked_fill(invalid, 0).sum(1, keepdim: true) / n.clamp_min(1);
            var centered = (x - mean).masked_fill(invalid, 0);
            var squares = centered.square().sum(1, keepdim: true);
            var std = (squares / (populationStd ? n : n - 1).clamp_min(1)).sqrt();
            var batchStd = (centered.square().sum() / (n.sum() - 1).clamp_min(1)).sqrt();
            var zero = n.lt(2).logical_or(std.eq(0));
            var a = options.Normalization switch
            {
                AdvantageNormalization.GroupStd => centered / (std + options.Epsilon),
                AdvantageNormalization.BatchStd => centered / (batchStd + options.Epsilon),
                AdvantageNormalization.MeanCentered => centered,
                _ => centered * (n / (n - 1).clamp_min(1)),
            };
            return a.masked_fill(invalid.logical_or(zero), 0).to(rewards.dtype).MoveToOuterDisposeScope();
        }
    }

    private sealed class Throwing : IAdvantageKernel
    {
        public string Name => "throwing";

        public Tensor Compute(Tensor rewards, AdvantageOptions options) => throw new InvalidOperationException("no");
    }
}
