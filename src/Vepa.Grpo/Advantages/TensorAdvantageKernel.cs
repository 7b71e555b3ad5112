using TorchSharp;
using static TorchSharp.torch;

namespace Vepa.Grpo;

/// <summary>
/// The advantages as a short sequence of device-agnostic tensor ops on [P, G] views: masked sums for the group statistics,
/// masked min/max for the zero-signal test, one <c>masked_fill</c> for the exact zeros. No host synchronisation except the one
/// copy of the counts (zero-signal groups, NaNs, infinities) at the end.
/// </summary>
internal static class TensorAdvantageKernel
{
    public static AdvantageResult Compute(AdvantageBatch batch, AdvantageOptions options)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();

        int p = batch.GroupCount;
        int g = batch.GroupSize;
        ScalarType compute = batch.Device.type == DeviceType.MPS ? ScalarType.Float32 : ScalarType.Float64;
        var x = new Tensor[batch.Components.Length];
        for (int k = 0; k < x.Length; k++)
        {
            x[k] = batch.Components[k].detach().reshape(p, g).to(compute);
        }

        Tensor invalid;
        Tensor? combined = null;
        if (!batch.NormalizesComponentsFirst(options))
        {
            combined = batch.IsPlain ? x[0] : WeightedSum(x, batch.Weights);
            invalid = combined.isnan();
        }
        else
        {
            invalid = x[0].isnan();
            for (int k = 1; k < x.Length; k++)
            {
                invalid = invalid.logical_or(x[k].isnan());
            }
        }

        Tensor advantages;
        Tensor zero;
        if (combined is not null)
        {
            (advantages, zero) = Normalize(combined, invalid, options.Normalization, options.Epsilon);
        }
        else
        {
            Tensor sum = zeros(p, g, compute, batch.Device);
            for (int k = 0; k < x.Length; k++)
            {
                (Tensor z, _) = Normalize(x[k], invalid, options.Normalization, options.Epsilon);
                sum = sum.add(z, batch.Weights[k]);
            }

            (advantages, zero) = BatchZScore(sum, invalid, options.Epsilon);
        }

        // The one host synchronisation: every count the result reports, plus the infinity checks, in a single copy.
        var counts = new List<Tensor>(x.Length + 3) { zero.sum(), invalid.sum() };
        foreach (Tensor xk in x)
        {
            counts.Add(xk.isinf().sum());
        }

        if (combined is not null && !batch.IsPlain)
        {
            counts.Add(combined.isinf().sum());
        }

        long[] host = stack(counts).cpu().data<long>().ToArray();
        long componentInfinities = 0;
        for (int k = 2; k < 2 + x.Length; k++)
        {
            componentInfinities += host[k];
        }

        long overflow = host.Length > 2 + x.Length ? host[2 + x.Length] : 0;
        if (componentInfinities > 0 || overflow > 0)
        {
            AdvantageValidation.ThrowInfinite(batch, overflow);
        }

        Tensor output = advantages.to(batch.DType).reshape(batch.Shape);
        Tensor flags = zero.reshape(p);
        return new AdvantageResult(output.MoveToOuterDisposeScope(), flags.MoveToOuterDisposeScope(), g, (int)host[0], (int)host[1]);
    }

    /// <summary>Σ_k w_k x_k; NaN wherever any x_k is NaN.</summary>
    private static Tensor WeightedSum(Tensor[] x, double[] weights)
    {
        Tensor sum = x[0].mul(weights[0]);
        for (int k = 1; k < x.Length; k++)
        {
            sum = sum.add(x[k], weights[k]);
        }

        return sum;
    }

    /// <summary>Normalises each row of <paramref name="x"/> over its valid entries; returns the advantages (exact zeros where invalid or zero-signal) and the [P, 1] zero-signal flags.</summary>
    private static (Tensor Advantages, Tensor Zero) Normalize(Tensor x, Tensor invalid, AdvantageNormalization mode, double eps)
    {
        (Tensor n, Tensor centered, Tensor std, Tensor zero) = GroupStatistics(x, invalid);
        Tensor a;
        switch (mode)
        {
            case AdvantageNormalization.GroupStd:
                a = centered.div(std.add(eps));
                break;
            case AdvantageNormalization.BatchStd:
                Tensor batchStd = BatchStd(x, invalid);
                zero = zero.logical_or(batchStd.eq(0));
                a = centered.div(batchStd.add(eps));
                break;
            case AdvantageNormalization.MeanCentered:
                a = centered;
                break;
            default:
                // RLOO: R_i − (Σ R − R_i)/(n − 1) = n/(n − 1) · (R_i − mean).
                a = centered.mul(n.div(n.sub(1).clamp_min(1)));
                break;
        }

        return (a.masked_fill(invalid.logical_or(zero), 0), zero);
    }

    /// <summary>The batch z-score of normalise-then-sum: (S − mean_batch)/(std_batch + ε) over the valid entries, zero-signal groups judged on S.</summary>
    private static (Tensor Advantages, Tensor Zero) BatchZScore(Tensor s, Tensor invalid, double eps)
    {
        (_, _, _, Tensor zero) = GroupStatistics(s, invalid);
        Tensor valid = invalid.logical_not();
        Tensor count = valid.sum(type: s.dtype);
        Tensor mean = s.masked_fill(invalid, 0).sum().div(count.clamp_min(1));
        Tensor centered = s.sub(mean).masked_fill(invalid, 0);
        Tensor std = centered.square().sum().div(count.sub(1).clamp_min(1)).sqrt();
        zero = zero.logical_or(std.eq(0));
        Tensor a = centered.div(std.add(eps)).masked_fill(invalid.logical_or(zero), 0);
        return (a, zero);
    }

    /// <summary>Per row: valid count n, x − mean (0 where invalid), Bessel std, and the zero-signal flag (n &lt; 2, min = max, or std = 0); all [P, 1] except the centred values.</summary>
    private static (Tensor N, Tensor Centered, Tensor Std, Tensor Zero) GroupStatistics(Tensor x, Tensor invalid)
    {
        Tensor n = invalid.logical_not().sum(1, keepdim: true, type: x.dtype);
        Tensor mean = x.masked_fill(invalid, 0).sum(1, keepdim: true).div(n.clamp_min(1));
        Tensor centered = x.sub(mean).masked_fill(invalid, 0);
        Tensor std = centered.square().sum(1, keepdim: true).div(n.sub(1).clamp_min(1)).sqrt();
        Tensor max = x.masked_fill(invalid, double.NegativeInfinity).amax([1], keepdim: true);
        Tensor min = x.masked_fill(invalid, double.PositiveInfinity).amin([1], keepdim: true);
        Tensor zero = n.lt(AdvantageConstants.MinGroupSize).logical_or(max.eq(min)).logical_or(std.eq(0));
        return (n, centered, std, zero);
    }

    /// <summary>The Bessel-corrected std of every valid entry of <paramref name="x"/> (a 0-d tensor).</summary>
    private static Tensor BatchStd(Tensor x, Tensor invalid)
    {
        Tensor count = invalid.logical_not().sum(type: x.dtype);
        Tensor mean = x.masked_fill(invalid, 0).sum().div(count.clamp_min(1));
        Tensor centered = x.sub(mean).masked_fill(invalid, 0);
        return centered.square().sum().div(count.sub(1).clamp_min(1)).sqrt();
    }
}
