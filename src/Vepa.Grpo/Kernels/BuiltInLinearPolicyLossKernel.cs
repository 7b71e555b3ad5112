namespace Vepa.Grpo.Kernels;

/// <summary><see cref="FusedLinearPolicyLoss"/> behind the <see cref="ILinearPolicyLossKernel"/> contract.</summary>
internal sealed class BuiltInLinearPolicyLossKernel : ILinearPolicyLossKernel
{
    public string Name => "fused-linear";

    public PolicyLossResult Compute(FusedLinearPolicyLossInputs inputs, PolicyLossOptions options) => FusedLinearPolicyLoss.Compute(inputs, options);
}
