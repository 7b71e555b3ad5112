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

/// <summary>matmul + <c>log_softmax</c> + <c>gather</c> + <see cref="PolicyLoss.Compute"/>: the linear group's default baseline (the logits exist).</summary>
internal sealed class MatmulCompositionKernel : ILinearPolicyLossKernel
{
    public string Name => "matmul-composition";

    public PolicyLossResult Compute(FusedLinearPolicyLossInputs inputs, PolicyLossOptions options)
    {
        var logits = inputs.Hidden.matmul(inputs.Weight.t());
        if (inputs.Bias is not null)
        {
            logits = logits.add(inputs.Bias);
        }

        var compute = inputs.Hidden.dtype == ScalarType.Float64 ? ScalarType.Float64 : ScalarType.Float32;
        var logProbs = (logits.to(compute) / inputs.Temperature).log_softmax(-1).gather(-1, inputs.Targets.unsqueeze(-1)).squeeze(-1);
        return PolicyLoss.Compute(
            new PolicyLossInputs
            {
                LogProbs = logProbs,
                Advantages = inputs.Advantages,
                Mask = inputs.Mask,
                OldLogProbs = inputs.OldLogProbs,
                ReferenceLogProbs = inputs.ReferenceLogProbs,
                SamplerLogProbs = inputs.SamplerLogProbs,
            },
            options);
    }
}
