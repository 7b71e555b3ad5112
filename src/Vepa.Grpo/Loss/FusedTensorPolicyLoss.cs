namespace Vepa.Grpo;

/// <summary>The policy loss as one custom autograd function in device-agnostic tensor ops. (Written by the fused-loss work.)</summary>
internal static class FusedTensorPolicyLoss
{
    public static PolicyLossResult Compute(PolicyLossInputs inputs, PolicyLossOptions options)
        => throw new NotImplementedException();
}
