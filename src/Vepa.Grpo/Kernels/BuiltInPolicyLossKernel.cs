namespace Vepa.Grpo.Kernels;

/// <summary>One of Vepa's policy-loss kernels behind the <see cref="IPolicyLossKernel"/> contract.</summary>
internal sealed class BuiltInPolicyLossKernel : IPolicyLossKernel
{
    private readonly PolicyLossKernel _kernel;

    public BuiltInPolicyLossKernel(string name, PolicyLossKernel kernel)
    {
        Name = name;
        _kernel = kernel;
    }

    public string Name { get; }

    public bool Supports(PolicyLossInputs inputs, PolicyLossOptions options, out string? reason)
    {
        if (_kernel == PolicyLossKernel.Managed)
        {
            return ManagedPolicyLoss.CanRunAfterConversion(inputs, out reason);
        }

        reason = null;
        return true;
    }

    public PolicyLossResult Compute(PolicyLossInputs inputs, PolicyLossOptions options)
    {
        var o = options.Clone();
        o.Kernel = _kernel;
        return PolicyLoss.Compute(inputs, o);
    }
}
