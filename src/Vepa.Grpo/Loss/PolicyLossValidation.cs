namespace Vepa.Grpo;

/// <summary>Shape, dtype and device checks shared by every policy-loss kernel. (Written by the fused-loss work.)</summary>
internal static class PolicyLossValidation
{
    public static void Validate(PolicyLossInputs inputs, PolicyLossOptions options)
        => throw new NotImplementedException();
}
