// This file is the worked example of docs/benchmarks.md ("Plug in your own kernel"); keep the two identical.
using TorchSharp;
using Vepa.Grpo;
using Vepa.Grpo.Kernels;
using static TorchSharp.torch;

namespace MyKernels;

/// <summary>A user's policy loss: TRL's clipped surrogate with token-mean aggregation, written in plain TorchSharp ops.</summary>
public sealed class TrlStylePolicyLossKernel : IPolicyLossKernel
{
    public string Name => "my-trl-style";

    // Implements the token-level clip objective with token-mean aggregation and nothing else; the gate skips other cases.
    public bool Supports(PolicyLossInputs inputs, PolicyLossOptions options, out string? reason)
    {
        bool ok = options.Objective == PolicyObjective.Clip && options.RatioLevel == RatioLevel.Token
            && options.Aggregation == LossAggregation.TokenMean && options.Beta == 0 && options.Delta is null
            && options.DualClip is null && options.LogRatioClamp is null && options.SamplerCorrection == SamplerCorrectionMode.None
            && options.EntropyCoefficient == 0 && options.TopEntropyQuantile >= 1;
        reason = ok ? null : "only the token-level clip objective with token-mean aggregation";
        return ok;
    }

    public PolicyLossResult Compute(PolicyLossInputs inputs, PolicyLossOptions options)
    {
        using var scope = NewDisposeScope();
        var compute = inputs.LogProbs.dtype == ScalarType.Float64 ? ScalarType.Float64 : ScalarType.Float32;
        var valid = inputs.Mask.dtype == ScalarType.Bool ? inputs.Mask : inputs.Mask.ne(0);
        var invalid = valid.logical_not();
        Tensor Clean(Tensor t) => t.to(compute).masked_fill(invalid, 0.0); // padding may hold NaN

        var logp = Clean(inputs.LogProbs);
        var old = inputs.OldLogProbs is null ? logp.detach() : Clean(inputs.OldLogProbs);
        var advantages = inputs.Advantages.dim() == 1 ? inputs.Advantages.to(compute).unsqueeze(1) : Clean(inputs.Advantages);
        var ratio = (logp - old).exp();
        var clipped = ratio.clamp(1 - options.EpsilonLow, 1 + options.EpsilonHigh);
        var perToken = -minimum(ratio * advantages, clipped * advantages);
        var tokens = valid.sum();
        var loss = perToken.masked_fill(invalid, 0.0).sum() / tokens.clamp_min(1).to(compute);

        long count = tokens.item<long>();
        double Mean(Tensor flags) => flags.logical_and(valid).sum().item<long>() / Math.Max(1.0, count);
        var statistics = new PolicyLossStatistics(
            ClipFractionLow: Mean(ratio.lt(1 - options.EpsilonLow).logical_and(advantages.lt(0))),
            ClipFractionHigh: Mean(ratio.gt(1 + options.EpsilonHigh).logical_and(advantages.gt(0))),
            DualClipFraction: 0,
            MeanRatio: ratio.detach().masked_fill(invalid, 0.0).sum().to(ScalarType.Float64).item<double>() / Math.Max(1.0, count),
            MeanKl: 0,
            SamplerCorrectionFraction: 0,
            TokenCount: count);
        return new PolicyLossResult(loss.MoveToOuterDisposeScope(), statistics);
    }
}
