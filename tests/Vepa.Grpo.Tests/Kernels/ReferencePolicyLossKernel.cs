using Vepa.Grpo.Kernels;

namespace Vepa.Grpo.Tests.Kernels;

/// <summary>The tests' plain autograd composition (<see cref="ReferencePolicyLoss"/>) behind the kernel contract: the gate's float64 reference.</summary>
internal sealed class ReferencePolicyLossKernel : IPolicyLossKernel
{
    public string Name => "reference";

    public bool Supports(PolicyLossInputs inputs, PolicyLossOptions options, out string? reason)
    {
        reason = null;
        return true;
    }

    public PolicyLossResult Compute(PolicyLossInputs inputs, PolicyLossOptions options)
    {
        var (loss, statistics) = ReferencePolicyLoss.Compute(inputs, options);
        return new PolicyLossResult(loss, statistics);
    }
}
