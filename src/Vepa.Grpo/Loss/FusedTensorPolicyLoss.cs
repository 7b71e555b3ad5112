using TorchSharp;
using static TorchSharp.torch;

namespace Vepa.Grpo;

/// <summary>The policy loss as one custom autograd function in device-agnostic tensor ops (CPU or CUDA).</summary>
/// <remarks>One device→host copy per call (the statistics vector, which also carries the count of invalid values).</remarks>
internal static class FusedTensorPolicyLoss
{
    /// <summary>Computes the loss and statistics; inputs and options must already be validated.</summary>
    /// <param name="inputs">The inputs.</param>
    /// <param name="options">The options.</param>
    /// <returns>The loss (differentiable w.r.t. the log-probs) and the statistics.</returns>
    /// <exception cref="ArgumentException">A valid position holds NaN or infinity, or a float mask holds a value other than 0/1.</exception>
    public static PolicyLossResult Compute(PolicyLossInputs inputs, PolicyLossOptions options)
    {
        using var scope = NewDisposeScope();
        inputs = EntropyTerms.WithPolicyTokenMask(inputs, options);
        bool needsGradient = inputs.LogProbs.requires_grad && is_grad_enabled();
        var call = new FusedPolicyLossCall(inputs, options, needsGradient);
        Tensor loss = FusedPolicyLossFunction.apply(inputs.LogProbs, call);

        var statistics = Statistics(call.Summary!, call.Layout!, inputs, options);
        var result = EntropyTerms.Finish(new PolicyLossResult(loss, statistics), inputs, options);
        result.Loss.MoveToOuterDisposeScope();
        EntropyTerms.KeepWithLoss(result, inputs);
        return result;
    }

    /// <summary>Reads the statistics vector with one device→host copy, throws for invalid values, and forms the statistics.</summary>
    /// <param name="summaryTensor">The float64 statistics vector.</param>
    /// <param name="layout">Where each quantity sits.</param>
    /// <param name="inputs">The inputs (for the error path only).</param>
    /// <param name="options">The options (for the error path only).</param>
    /// <returns>The statistics.</returns>
    /// <exception cref="ArgumentException">A valid position holds NaN or infinity, or a mask holds a value other than 0/1.</exception>
    internal static PolicyLossStatistics Statistics(
        Tensor summaryTensor, FusedPolicyLossSummaryLayout layout, PolicyLossInputs inputs, PolicyLossOptions options)
    {
        double[] summary;
        using (Tensor host = summaryTensor.cpu())
        {
            summary = host.data<double>().ToArray();
        }

        double tokens = summary[FusedPolicyLossSummaryLayout.TokenCount];
        if (layout.Checks.Any(i => summary[i] != tokens))
        {
            PolicyLossValidation.ThrowForInvalidValues(inputs, options);
        }

        double denominator = Math.Max(1.0, tokens);
        double At(int index) => index < 0 ? 0.0 : summary[index];
        return new PolicyLossStatistics(
            ClipFractionLow: At(layout.ClipLow) / denominator,
            ClipFractionHigh: At(layout.ClipHigh) / denominator,
            DualClipFraction: At(layout.DualClip) / denominator,
            MeanRatio: At(layout.RatioSum) / denominator,
            MeanKl: At(layout.KlSum) / denominator,
            SamplerCorrectionFraction: At(layout.Sampler) / denominator,
            TokenCount: (long)tokens);
    }
}
