using MyKernels;
using TorchSharp;
using Vepa.Grpo.Kernels;
using static TorchSharp.torch;

namespace Vepa.Grpo.Tests.Kernels;

public sealed class KernelGateTests
{
    private static readonly KernelGateOptions Quick = new() { Dtypes = [ScalarType.Float64, ScalarType.Float32] };

    [Theory]
    [InlineData("fused-tensor")]
    [InlineData("managed")]
    [InlineData("auto")]
    public void Every_built_in_policy_loss_kernel_passes_the_gate(string name)
    {
        var kernel = KernelRegistry.CreateDefault().PolicyLossKernels.Single(k => k.Name == name);
        var report = KernelGate.CheckPolicyLoss(kernel, new ReferencePolicyLossKernel(), Quick);
        report.FirstMismatch.Should().BeNull();
        report.Passed.Should().BeTrue();
        report.CasesRun.Should().Be(2 * ((KernelGateCases.Variants.Count * (KernelGateCases.Shapes.Count + 2)) + 1 + (KernelGateCases.EntropyVariants.Count * (KernelGateCases.Shapes.Count + 1)) + 1));
    }

    [Fact]
    public void The_fused_tensor_kernel_passes_in_bfloat16_too()
    {
        var kernel = KernelRegistry.CreateDefault().PolicyLossKernels.Single(k => k.Name == "fused-tensor");
        var report = KernelGate.CheckPolicyLoss(kernel, new ReferencePolicyLossKernel(), new KernelGateOptions { Dtypes = [ScalarType.BFloat16] });
        report.FirstMismatch.Should().BeNull();
    }

    [Fact]
    public void A_kernel_that_drops_the_kl_term_fails_at_the_first_case_with_beta_and_is_named()
    {
        var report = KernelGate.CheckPolicyLoss(new WithoutKl(), new ReferencePolicyLossKernel(), Quick);
        report.Passed.Should().BeFalse();
        report.FirstMismatch.Should().StartWith("case 1 (trl-grpo, 1x1, Float64, plain): loss: expected ");
    }

    [Fact]
    public void A_kernel_whose_loss_has_no_graph_is_reported_not_run_into_autograd()
    {
        var report = KernelGate.CheckPolicyLoss(new Detached(), new ReferencePolicyLossKernel(), Quick);
        report.FirstMismatch.Should().Be("case 1 (trl-grpo, 1x1, Float64, plain): the loss carries no gradient w.r.t. LogProbs (requires_grad is false)");
    }

    [Fact]
    public void The_documented_user_kernel_compiles_registers_and_passes_on_the_cases_it_supports()
    {
        var registry = KernelRegistry.CreateDefault().Add(new TrlStylePolicyLossKernel());
        var mine = registry.PolicyLossKernels.Single(k => k.Name == "my-trl-style");
        var report = KernelGate.CheckPolicyLoss(mine, new ReferencePolicyLossKernel(), Quick);
        report.FirstMismatch.Should().BeNull();
        report.CasesRun.Should().Be(2 * 2 * (KernelGateCases.Shapes.Count + 2), "only trl-bnpo-dapo and preset-dapo are token-mean clip without extras");
        report.CasesSkipped.Should().BeGreaterThan(0);
    }

    [Theory]
    [InlineData("chunked")]
    [InlineData("overwriting")]
    public void Built_in_token_log_prob_kernels_pass_and_a_wrong_one_fails(string name)
    {
        var kernel = KernelRegistry.CreateDefault().TokenLogProbKernels.Single(k => k.Name == name);
        KernelGate.CheckTokenLogProbs(kernel).FirstMismatch.Should().BeNull();

        var wrong = KernelGate.CheckTokenLogProbs(new IgnoresTemperature(), Quick);
        wrong.FirstMismatch.Should().StartWith("case 4 ([2, 3, 5], Float64, temperature 0.7): log-probs: max |difference| ");
    }

    [Fact]
    public void The_fused_linear_policy_loss_passes_the_linear_gate_and_a_kernel_that_drops_the_bias_fails()
    {
        var kernel = KernelRegistry.CreateDefault().LinearPolicyLossKernels.Single(k => k.Name == "fused-linear");
        var report = KernelGate.CheckLinearPolicyLoss(kernel, new ReferencePolicyLossKernel(), Quick);
        report.FirstMismatch.Should().BeNull();
        report.CasesRun.Should().Be(2 * KernelGateCases.Variants.Count * 3);

        var wrong = KernelGate.CheckLinearPolicyLoss(new DropsBias(), new ReferencePolicyLossKernel(), Quick);
        wrong.FirstMismatch.Should().StartWith("case 1 (trl-grpo, 1x1, H 8, V 37, Float64): loss: expected ");
    }

    [Fact]
    public void The_registry_rejects_a_second_kernel_with_the_same_name()
    {
        var registry = KernelRegistry.CreateDefault();
        registry.PolicyLossKernels.Select(k => k.Name).Should().Equal("fused-tensor", "managed", "auto", "cuda");
        var act = () => registry.Add(new WithoutKl { NameOverride = "Managed" });
        act.Should().Throw<ArgumentException>().WithMessage("A IPolicyLossKernel named 'Managed' is already registered.*");
    }

    private sealed class WithoutKl : IPolicyLossKernel
    {
        public string NameOverride { get; init; } = "without-kl";

        public string Name => NameOverride;

        public bool Supports(PolicyLossInputs inputs, PolicyLossOptions options, out string? reason)
        {
            reason = null;
            return true;
        }

        public PolicyLossResult Compute(PolicyLossInputs inputs, PolicyLossOptions options)
        {
            var o = options.Clone();
            o.Beta = 0;
            return PolicyLoss.Compute(inputs, o);
        }
    }

    private sealed class Detached : IPolicyLossKernel
    {
        public string Name => "detached";

        public bool Supports(PolicyLossInputs inputs, PolicyLossOptions options, out string? reason)
        {
            reason = null;
            return true;
        }

        public PolicyLossResult Compute(PolicyLossInputs inputs, PolicyLossOptions options)
        {
            var result = PolicyLoss.Compute(inputs, options);
            return new PolicyLossResult(result.Loss.detach(), result.Statistics);
        }
    }

    private sealed class DropsBias : ILinearPolicyLossKernel
    {
        public string Name => "drops-bias";

        public PolicyLossResult Compute(FusedLinearPolicyLossInputs inputs, PolicyLossOptions options)
            => FusedLinearPolicyLoss.Compute(inputs with { Bias = null }, options);
    }

    private sealed class IgnoresTemperature : ITokenLogProbKernel
    {
        public string Name => "ignores-temperature";

        public Tensor Compute(Tensor logits, Tensor targets, double temperature)
            => TokenLogProbs.FromLogits(logits, targets);
    }
}
