using TorchSharp;
using static TorchSharp.torch;

namespace Vepa.Grpo;

/// <summary>
/// The whole policy loss (ratio, clip or CISPO objective, dual clip, sampler weights, KL, aggregation) as one custom autograd
/// function of the log-probs. The forward pass computes the loss, the statistics and, when a gradient is needed, the
/// per-token coefficient dL/dlog π, which is the only tensor kept for backward; backward scales it by the incoming gradient.
/// </summary>
/// <remarks>
/// <para>Called only through <see cref="FusedTensorPolicyLoss"/> as <c>apply(logProbs, call)</c>, where <c>call</c> is a
/// <see cref="FusedPolicyLossCall"/> carrying the constant inputs and receiving the statistics tensor.</para>
/// <para>The gradient equals PyTorch autograd of the plain composition (see ReferencePolicyLoss in the tests):
/// <c>minimum</c>/<c>maximum</c> ties split the gradient half/half, <c>clamp</c> passes it on the closed interval
/// [min, max], <c>where</c> routes it to the chosen branch, and masked-out positions get exactly 0.</para>
/// <para>Everything is device-agnostic tensor work; nothing is read back to the host here.</para>
/// </remarks>
internal sealed class FusedPolicyLossFunction : autograd.SingleTensorFunction<FusedPolicyLossFunction>
{
    private const string DtypeKey = "dtype";
    private const string CallKey = "call";

    /// <inheritdoc />
    public override string Name => "VepaPolicyLoss";

    /// <inheritdoc />
    public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var logProbs = (Tensor)vars[0];
        var call = (FusedPolicyLossCall)vars[1];
        (Tensor loss, Tensor? coefficient, Tensor summary, FusedPolicyLossSummaryLayout layout) =
            Run(logProbs, call.Inputs, call.Options, call.NeedsGradient);
        call.Summary = summary;
        call.Layout = layout;
        if (coefficient is not null)
        {
            ctx.save_for_backward([coefficient, logProbs]);
            ctx.save_data(DtypeKey, logProbs.dtype);
            ctx.save_data(CallKey, call);
        }

        return loss;
    }

    /// <inheritdoc />
    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor grad_output)
    {
        List<Tensor> saved = ctx.get_saved_variables();
        var dtype = (ScalarType)ctx.get_data(DtypeKey);
        if (is_grad_enabled())
        {
            // create_graph: true. The saved coefficient is a constant, so return the gradient of the same loss formed
            // with differentiable ops instead (see PolicyLossDoubleBackward).
            var call = (FusedPolicyLossCall)ctx.get_data(CallKey);
            return [PolicyLossDoubleBackward.Gradient(saved[1], call.Inputs, call.Options, grad_output), null!];
        }

        using Tensor coefficient = saved[0];
        Tensor grad = coefficient.mul(grad_output);
        if (grad.dtype != dtype)
        {
            using Tensor wide = grad;
            grad = wide.to(dtype);
        }

        return [grad, null!];
    }

    /// <summary>The forward computation: loss, optional gradient coefficient and the statistics vector with its layout.</summary>
    /// <remarks>With <paramref name="aggregation"/>, the tensors are one chunk (a block of rows, or part of one row) of a larger
    /// batch, and the loss and coefficient are that chunk's share of the whole batch's loss (the fused linear loss).</remarks>
    internal static (Tensor Loss, Tensor? Coefficient, Tensor Summary, FusedPolicyLossSummaryLayout Layout) Run(
        Tensor logProbs, PolicyLossInputs inputs, PolicyLossOptions o, bool needsGradient, LossAggregationScope? aggregation = null)
    {
        using var scope = NewDisposeScope();
        ScalarType ct = logProbs.dtype == ScalarType.Float64 ? ScalarType.Float64 : ScalarType.Float32;
        long batch = logProbs.shape[0];
        long length = logProbs.shape[1];

        Tensor mask = inputs.Mask;
        Tensor valid = mask.dtype == ScalarType.Bool ? mask : mask.ne(0);
        Tensor invalid = valid.logical_not();
        Tensor maskF = valid.to(ct);

        // Boolean flags counted over the valid tokens in one reduction at the end. Flag 0 is the mask itself (the token
        // count); "check" flags must be true at every valid token (finite values, a float mask that is exactly 1 there).
        var flags = new List<Tensor>(12) { valid };
        var checks = new List<int>(6);
        int Flag(Tensor flag)
        {
            flags.Add(flag.shape[0] == batch && flag.shape[1] == length ? flag : flag.expand(batch, length));
            return flags.Count - 1;
        }

        void Check(Tensor mustHold) => checks.Add(Flag(mustHold));
        if (mask.dtype != ScalarType.Bool)
        {
            Check(mask.eq(1));
        }

        // Masked-out positions become 0 before any arithmetic, so padding (even NaN/inf) never reaches loss or gradient.
        Tensor Clean(Tensor x) => (x.dtype == ct ? x : x.to(ct)).masked_fill(invalid, 0.0);

        Tensor lp = Clean(logProbs);
        Tensor rowTokens = maskF.sum(1);
        Tensor rowDen = aggregation?.RowDenominator ?? rowTokens.clamp_min(1.0);
        long aggregationBatch = aggregation?.Batch ?? batch;
        long aggregationLength = aggregation?.Length ?? length;
        Tensor tokenCount = maskF.sum();
        Tensor adv;
        if (inputs.Advantages.dim() == 1)
        {
            Tensor emptyRow = rowTokens.eq(0);
            Tensor a = inputs.Advantages.dtype == ct ? inputs.Advantages : inputs.Advantages.to(ct);
            adv = a.masked_fill(emptyRow, 0.0).unsqueeze(1);
        }
        else
        {
            adv = Clean(inputs.Advantages);
        }

        Check(adv.isfinite());

        // Log-ratio; on-policy (no old log-probs) it is exactly 0 and ρ = 1, as with old = stopgrad(log π).
        Tensor? old = inputs.OldLogProbs is null ? null : Clean(inputs.OldLogProbs);
        Tensor logRatio = old is null ? zeros_like(lp) : lp - old;

        // Non-finite inputs show up in the differences that use them (log π − old, ref − log π, old − sampler).
        if (old is not null)
        {
            Check(logRatio.isfinite());
        }
        else if (!(o.Beta > 0))
        {
            Check(lp.isfinite());
        }

        // A clamp passes the gradient on the closed interval [min, max], which is exactly where it leaves its input unchanged.
        Tensor? inLogRatioClamp = null;
        if (old is not null && o.LogRatioClamp is double lrc)
        {
            Tensor clamped = logRatio.clamp(-lrc, lrc);
            inLogRatioClamp = clamped.eq(logRatio);
            logRatio = clamped;
        }

        Tensor ratio;
        Tensor? sequenceRatio = null;
        if (o.RatioLevel == RatioLevel.Token)
        {
            ratio = logRatio.exp();
        }
        else
        {
            // Masked positions of logRatio are exactly 0, so the plain row sum equals the masked sum.
            sequenceRatio = (logRatio.sum(1) / rowDen).exp().unsqueeze(1);
            ratio = sequenceRatio.expand(batch, length);
        }

        // Per-token policy term and its derivative: w.r.t. ρ for the clip family, w.r.t. log π for CISPO.
        Tensor policy;
        Tensor? policyDerivative = null;
        Tensor clipLow;
        Tensor clipHigh;
        Tensor? dual = null;
        if (o.Objective == PolicyObjective.Clip)
        {
            Tensor negative = adv.lt(0);
            double low = 1 - o.EpsilonLow;
            double high = 1 + o.EpsilonHigh;
            Tensor coef1 = o.Delta is double delta ? ratio.clamp_max(delta) : ratio;
            Tensor coef2 = ratio.clamp(low, high);
            Tensor x1 = coef1 * adv;
            Tensor x2 = coef2 * adv;
            policy = torch.minimum(x1, x2).neg();
            if (needsGradient)
            {
                // d(coef·A)/dρ per branch; torch.minimum splits the gradient half/half on a tie.
                Tensor d1 = o.Delta is null ? adv : adv * coef1.eq(ratio).to(ct);
                Tensor d2 = adv * coef2.eq(ratio).to(ct);
                Tensor tie = (d1 + d2) * 0.5;
                policyDerivative = torch.where(x1.lt(x2), d1, torch.where(x1.gt(x2), d2, tie)).neg();
            }

            if (o.DualClip is double c)
            {
                Tensor lower = adv * -c;
                dual = negative.logical_and(policy.gt(lower));
                if (policyDerivative is not null)
                {
                    // minimum(lower, clipped): all of the gradient where clipped < lower, half on a tie, none above;
                    // ½(1 + sign(lower − clipped)) is exactly 1, ½ or 0 (a difference of finite floats is 0 only on equality).
                    Tensor share = ((lower - policy).sign() + 1) * 0.5;
                    policyDerivative = torch.where(negative, policyDerivative * share, policyDerivative);
                }

                policy = torch.where(negative, torch.minimum(lower, policy), policy);
            }

            clipLow = ratio.lt(low).logical_and(negative);
            clipHigh = ratio.gt(high).logical_and(adv.gt(0));
        }
        else
        {
            // CISPO's ratio factor is a stop-gradient (matters only when this loss is differentiated by autograd).
            Tensor capped = ratio.clamp_max(o.EpsilonHigh).detach();
            Tensor perLogProb = capped.neg() * adv;
            policy = perLogProb * lp;
            policyDerivative = perLogProb;
            clipLow = zeros_like(valid);
            clipHigh = ratio.gt(o.EpsilonHigh);
        }

        // Sampler weights multiply the policy term only (β·KL is added afterwards, as TRL does); they carry no gradient.
        Tensor? weights = null;
        Tensor? samplerOutside = null;
        if (o.SamplerCorrection != SamplerCorrectionMode.None)
        {
            Tensor logWeights = old! - Clean(inputs.SamplerLogProbs!);
            Check(logWeights.isfinite());
            if (o.SamplerCorrectionPerSequence)
            {
                logWeights = logWeights.sum(1, keepdim: true);
            }

            Tensor w = logWeights.exp();
            samplerOutside = w.lt(o.SamplerCorrectionMin).logical_or(w.gt(o.SamplerCorrectionMax));
            weights = o.SamplerCorrection == SamplerCorrectionMode.Truncate
                ? w.clamp(o.SamplerCorrectionMin, o.SamplerCorrectionMax)
                : w.masked_fill(samplerOutside, 0.0);
            policy = policy * weights;
        }

        // The top-entropy mask drops the policy term of low-entropy tokens (TRL multiplies before adding β·KL); it is a
        // 0/1 weight like the sampler's, so it scales the policy term's gradient too.
        if (inputs.PolicyTokenMask is Tensor keep)
        {
            Tensor kept = keep.to(ct);
            policy = policy * kept;
            weights = weights is null ? kept : weights * kept;
        }

        Tensor perToken = policy;
        Tensor? kl = null;
        Tensor? klDerivative = null;
        if (o.Beta > 0)
        {
            Tensor x = Clean(inputs.ReferenceLogProbs!) - lp;
            Check(x.isfinite());
            Tensor? inKlClamp = null;
            if (o.KlLogRatioClamp is double klc)
            {
                Tensor clamped = x.clamp(-klc, klc);
                inKlClamp = clamped.eq(x);
                x = clamped;
            }

            Tensor dkdx;
            switch (o.KlEstimator)
            {
                case KlEstimator.K1:
                    kl = x.neg();
                    dkdx = full_like(x, -1.0);
                    break;
                case KlEstimator.K2:
                    kl = 0.5 * x * x;
                    dkdx = x;
                    break;
                default:
                    Tensor ex = x.exp();
                    kl = ex - x - 1;
                    dkdx = ex - 1;
                    break;
            }

            Tensor? inValueClamp = null;
            if (o.KlValueClamp is double kvc)
            {
                Tensor clamped = kl.clamp(-kvc, kvc);
                inValueClamp = clamped.eq(kl);
                kl = clamped;
            }

            perToken = perToken + o.Beta * kl;
            if (needsGradient)
            {
                // x = ref − log π, so dk/dlog π = −dk/dx, zero where a clamp was active.
                klDerivative = dkdx.neg();
                if (inKlClamp is not null)
                {
                    klDerivative = klDerivative.masked_fill(inKlClamp.logical_not(), 0.0);
                }

                if (inValueClamp is not null)
                {
                    klDerivative = klDerivative.masked_fill(inValueClamp.logical_not(), 0.0);
                }
            }
        }

        // Aggregation: loss = Σ_b,t scale[b,t]·M·l; the same expressions as the reference so values agree to rounding.
        Tensor masked = perToken.masked_fill(invalid, 0.0);
        Tensor loss;
        Func<Tensor, Tensor> scale;
        switch (o.Aggregation)
        {
            case LossAggregation.SequenceMeanTokenMean:
                loss = aggregation is null ? (masked.sum(1) / rowDen).mean() : (masked.sum(1) / rowDen).sum() / aggregationBatch;
                Tensor rowScale = (rowDen.reciprocal() * (1.0 / aggregationBatch)).unsqueeze(1);
                scale = g => g * rowScale;
                break;
            case LossAggregation.TokenMean:
                Tensor den = aggregation?.TokenDenominator ?? tokenCount.clamp_min(1.0);
                loss = masked.sum() / den;
                scale = g => g / den;
                break;
            case LossAggregation.ConstantNormalizer:
                double normaliser = aggregationBatch * (double)(o.MaxCompletionLength ?? (int)aggregationLength);
                loss = masked.sum() / normaliser;
                scale = g => g / normaliser;
                break;
            default:
                loss = masked.sum();
                scale = g => g;
                break;
        }

        Tensor? coefficient = null;
        if (needsGradient)
        {
            // dL/d(policy term) per token, then through the ratio (clip family) or directly (CISPO).
            Tensor aggregationScale = scale(maskF);
            Tensor upstream = weights is null ? aggregationScale : aggregationScale * weights;
            Tensor grad;
            if (o.Objective == PolicyObjective.Clip)
            {
                Tensor gradRatio = upstream * policyDerivative!;
                Tensor gradLogRatio = sequenceRatio is null
                    ? gradRatio * ratio
                    : gradRatio.sum(1, keepdim: true) * sequenceRatio / rowDen.unsqueeze(1) * maskF;
                grad = inLogRatioClamp is null ? gradLogRatio : gradLogRatio.masked_fill(inLogRatioClamp.logical_not(), 0.0);
            }
            else
            {
                grad = upstream * policyDerivative!;
            }

            if (klDerivative is not null)
            {
                grad = grad + aggregationScale * o.Beta * klDerivative;
            }

            coefficient = grad.masked_fill(invalid, 0.0);
        }

        // Statistics: every count in one masked reduction, the two sums in another, one float64 vector for one host copy.
        var layout = new FusedPolicyLossSummaryLayout(
            ClipLow: Flag(clipLow),
            ClipHigh: Flag(clipHigh),
            DualClip: dual is null ? -1 : Flag(dual),
            Sampler: samplerOutside is null ? -1 : Flag(samplerOutside),
            Checks: checks.ToArray(),
            RatioSum: flags.Count,
            KlSum: kl is null ? -1 : flags.Count + 1);
        Tensor counts = stack(flags).logical_and(valid).sum([1, 2]).to(ScalarType.Float64);
        Tensor sums = (kl is null ? ratio.unsqueeze(0) : stack([ratio, kl])).mul(maskF).sum([1, 2]);
        Tensor summary = cat([counts, sums.to(ScalarType.Float64)]);

        return (loss.MoveToOuterDisposeScope(), coefficient?.MoveToOuterDisposeScope(), summary.MoveToOuterDisposeScope(), layout);
    }
}
