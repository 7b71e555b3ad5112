using TorchSharp;
using static TorchSharp.torch;

namespace Vepa.Grpo;

/// <summary>
/// The one owner of the loss's entropy terms: TRL's top-entropy mask (<see cref="PolicyLossOptions.TopEntropyQuantile"/>),
/// turned into the per-token policy-term mask every kernel reads, and verl's entropy bonus
/// (<see cref="PolicyLossOptions.EntropyCoefficient"/>), subtracted from the kernel's loss in plain tensor ops so that autograd
/// carries its gradient into <see cref="PolicyLossInputs.Entropy"/> (and from there into the logits).
/// </summary>
internal static class EntropyTerms
{
    /// <summary>Whether the options use the entropy at all.</summary>
    /// <param name="options">The options.</param>
    /// <returns><see langword="true"/> when the coefficient is &gt; 0 or the quantile is &lt; 1.</returns>
    public static bool Active(PolicyLossOptions options) => options.EntropyCoefficient > 0 || options.TopEntropyQuantile < 1;

    /// <summary>
    /// Returns the inputs with <see cref="PolicyLossInputs.PolicyTokenMask"/> set when <see cref="PolicyLossOptions.TopEntropyQuantile"/>
    /// ρ &lt; 1: valid tokens whose (detached) entropy is ≥ <c>torch.quantile</c>(entropies of the valid tokens, 1 − ρ), the
    /// quantile taken in the entropy's compute dtype (float64 for float64, else float32, as TRL's <c>.float()</c>). A call without
    /// valid tokens keeps none (TRL returns an all-false mask). Otherwise the inputs are returned as they are.
    /// </summary>
    /// <param name="inputs">The validated inputs.</param>
    /// <param name="options">The validated options.</param>
    /// <returns>The inputs the kernel reads. The mask belongs to the caller's dispose scope; a kernel hands it out with its
    /// result (<see cref="KeepWithLoss"/>), since its autograd node reads the inputs again for a double backward.</returns>
    public static PolicyLossInputs WithPolicyTokenMask(PolicyLossInputs inputs, PolicyLossOptions options)
    {
        if (!(options.TopEntropyQuantile < 1))
        {
            return inputs;
        }

        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        Tensor valid = Valid(inputs.Mask);
        Tensor entropy = inputs.Entropy!.detach();
        entropy = entropy.to(ComputeType(entropy.dtype));
        Tensor values = entropy.masked_select(valid);
        Tensor keep;
        if (values.numel() == 0)
        {
            keep = zeros_like(valid);
        }
        else
        {
            keep = entropy.ge(Quantile(values, 1.0 - options.TopEntropyQuantile)).logical_and(valid);
        }

        return inputs with { PolicyTokenMask = keep.MoveToOuterDisposeScope() };
    }

    /// <summary>
    /// Finishes a kernel's result: subtracts c · agg(H) from the loss (differentiable w.r.t. <see cref="PolicyLossInputs.Entropy"/>),
    /// fills the two entropy statistics with one device→host copy, and rejects a non-finite entropy at a valid position.
    /// Returns <paramref name="result"/> itself when the options do not use the entropy.
    /// </summary>
    /// <param name="result">The kernel's result; disposed when a new one is returned.</param>
    /// <param name="inputs">The inputs the kernel read (with the policy-term mask, when the quantile is on).</param>
    /// <param name="options">The options.</param>
    /// <returns>The final result.</returns>
    /// <exception cref="ArgumentException">The entropy holds NaN or infinity at a valid position.</exception>
    public static PolicyLossResult Finish(PolicyLossResult result, PolicyLossInputs inputs, PolicyLossOptions options)
    {
        if (!Active(options))
        {
            return result;
        }

        using var scope = NewDisposeScope();
        Tensor valid = Valid(inputs.Mask);
        Tensor entropy = inputs.Entropy!;
        ScalarType compute = ComputeType(inputs.LogProbs.dtype);
        Tensor bad = entropy.detach().isfinite().logical_not().logical_and(valid).sum().to(ScalarType.Float64);
        Tensor kept = inputs.PolicyTokenMask is Tensor keep ? keep.logical_and(valid).sum().to(ScalarType.Float64) : valid.sum().to(ScalarType.Float64);
        Tensor loss = result.Loss;
        Tensor aggregate = zeros([], ScalarType.Float64, entropy.device);
        if (options.EntropyCoefficient > 0)
        {
            Tensor clean = entropy.to(compute).masked_fill(valid.logical_not(), 0.0);
            Tensor entropyMean = Aggregate(clean, valid, options);
            loss = loss - (options.EntropyCoefficient * entropyMean).to(loss.dtype);
            aggregate = entropyMean.detach().to(ScalarType.Float64);
        }

        double[] summary;
        using (Tensor host = stack([bad, kept, aggregate]).cpu())
        {
            summary = host.data<double>().ToArray();
        }

        if (summary[0] > 0)
        {
            PolicyLossValidation.ThrowForInvalidValues(inputs, options);
        }

        var s = result.Statistics;
        var statistics = s with
        {
            EntropyBonus = options.EntropyCoefficient * summary[2],
            EntropyMaskedFraction = s.TokenCount == 0 ? 0.0 : (s.TokenCount - summary[1]) / s.TokenCount,
        };
        if (ReferenceEquals(loss, result.Loss))
        {
            return new PolicyLossResult(result.Loss, statistics);
        }

        // The kernel's loss stays alive inside the new loss's graph; only its handle is released.
        result.Dispose();
        return new PolicyLossResult(loss.MoveToOuterDisposeScope(), statistics);
    }

    /// <summary>
    /// <c>torch.quantile(values, q)</c> (linear interpolation) without sorting: torch forms the rank r = q·(n − 1) in the
    /// values' dtype, takes the sorted values at ⌊r⌋ and ⌈r⌉ and <c>lerp</c>s them with weight r − ⌊r⌋. The same rank is
    /// formed here (one IEEE multiply, on the host), the two order statistics come from <c>kthvalue</c> (a selection, O(n),
    /// instead of an O(n log n) sort of every valid token), and the same <c>lerp</c> kernel combines them, so the result
    /// is the same number.
    /// </summary>
    /// <param name="values">The values, 1-D, float32 or float64, at least one.</param>
    /// <param name="q">The quantile in [0, 1].</param>
    /// <returns>A one-element tensor.</returns>
    internal static Tensor Quantile(Tensor values, double q)
    {
        long n = values.shape[0];
        long below, above;
        double weight;
        if (values.dtype == ScalarType.Float64)
        {
            double rank = q * (n - 1);
            below = (long)rank;
            above = (long)Math.Ceiling(rank);
            weight = rank - below;
        }
        else
        {
            float rank = (float)q * (n - 1);
            below = (long)rank;
            above = (long)MathF.Ceiling(rank);
            weight = rank - below;
        }

        Tensor low = values.kthvalue(below + 1, 0).values;
        Tensor high = above == below ? low : values.kthvalue(above + 1, 0).values;
        return low.lerp(high, tensor(weight, values.dtype, values.device));
    }

    /// <summary>Hands the policy-term mask, if any, to the result (released with it) and to the dispose scope outside the kernel's,
    /// where its loss goes: the loss's autograd node reads it again in a double backward.</summary>
    /// <param name="result">The kernel's final result.</param>
    /// <param name="inputs">The inputs <see cref="WithPolicyTokenMask"/> returned.</param>
    public static void KeepWithLoss(PolicyLossResult result, PolicyLossInputs inputs)
    {
        if (inputs.PolicyTokenMask is Tensor mask)
        {
            result.Companion = mask.MoveToOuterDisposeScope();
        }
    }

    /// <summary>The policy loss's aggregation of a per-token quantity (already 0 at masked-out positions), in plain ops:
    /// sequence-mean of token-means, token-mean, Σ / (B · L_max) or Σ.</summary>
    /// <param name="values">The values [B, T], 0 where the mask is 0.</param>
    /// <param name="valid">The bool mask [B, T].</param>
    /// <param name="options">The options (aggregation, L_max).</param>
    /// <returns>The scalar, differentiable w.r.t. <paramref name="values"/>.</returns>
    internal static Tensor Aggregate(Tensor values, Tensor valid, PolicyLossOptions options)
    {
        long batch = values.shape[0];
        long length = values.shape[1];
        return options.Aggregation switch
        {
            LossAggregation.SequenceMeanTokenMean => (values.sum(1) / valid.sum(1).to(values.dtype).clamp_min(1.0)).mean(),
            LossAggregation.TokenMean => values.sum() / valid.sum().to(values.dtype).clamp_min(1.0),
            LossAggregation.ConstantNormalizer => values.sum() / (batch * (double)(options.MaxCompletionLength ?? (int)length)),
            _ => values.sum(),
        };
    }

    private static Tensor Valid(Tensor mask) => mask.dtype == ScalarType.Bool ? mask : mask.ne(0);

    private static ScalarType ComputeType(ScalarType dtype) => dtype == ScalarType.Float64 ? ScalarType.Float64 : ScalarType.Float32;
}
