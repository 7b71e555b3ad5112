using System.Diagnostics.CodeAnalysis;

namespace Vepa.Grpo;

/// <summary>The policy loss as a single-pass managed kernel over contiguous CPU tensors. (Written by the managed-kernel work.)</summary>
internal static class ManagedPolicyLoss
{
    public static bool CanRun(PolicyLossInputs inputs, [NotNullWhen(false)] out string? reason)
    {
        reason = "not implemented yet";
        return false;
    }

    public static PolicyLossResult Compute(PolicyLossInputs inputs, PolicyLossOptions options)
        => throw new NotImplementedException();
}
