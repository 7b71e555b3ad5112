using TorchSharp;
using Vepa.Grpo;
using Vepa.Grpo.Kernels;
using Vepa.Grpo.Tests;
using static TorchSharp.torch;

namespace Vepa.Benchmarks.Kernels;

/// <summary>The plain autograd composition of the policy loss (tests/…/ReferencePolicyLoss.cs): the gate's reference and the default baseline.</summary>
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

/// <summary>Plain <c>log_softmax</c> + <c>gather</c> (TRL's naive path): the default token log-prob baseline.</summary>
internal sealed class PlainTokenLogProbKernel : ITokenLogProbKernel
{
    public string Name => "plain";

    public Tensor Compute(Tensor logits, Tensor targets, double temperature)
    {
        var compute = logits.dtype == ScalarType.Float64 ? ScalarType.Float64 : ScalarType.Float32;
        return (logits.to(compute) / temperature).log_softmax(-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1);
    }
}
