using TorchSharp;
using static TorchSharp.torch;

namespace Vepa.Grpo.Tests;

/// <summary>
/// The policy loss written as a plain composition of TorchSharp ops, the way TRL and verl write it, with gradients left
/// to autograd. It is the independent reference the kernels are tested (and benchmarked) against: it does no input
/// validation and no NaN checks, and reads its statistics with one <c>.item()</c> each.
/// </summary>
/// <remarks>
/// Conventions it shares with the kernels (see docs/kernels.md): masked-out positions of every [B, T] input are replaced by
/// 0 with <c>masked_fill</c> before use (so padding may hold NaN); bf16/fp16 log-probs are computed in float32; the ratio
/// ρ is exp(clamp(logp − old)) per token, or exp of the masked mean of the (clamped) per-token log-ratio per sequence;
/// sampler weights multiply the policy term only and the β·KL term is added afterwards (TRL's order). TRL's top-entropy mask
/// multiplies the policy term too; its threshold is <c>torch.quantile</c>'s linear interpolation, written out here
/// (sorted valid entropies, rank q·(n − 1) and <c>lerp</c>, in the entropy's compute dtype). verl's entropy bonus subtracts
/// c times the same aggregation of the (masked) entropies.
/// </remarks>
public static class ReferencePolicyLoss
{
    /// <summary>Computes the loss (differentiable w.r.t. <see cref="PolicyLossInputs.LogProbs"/>) and its statistics.</summary>
    /// <param name="inputs">The inputs (not validated).</param>
    /// <param name="options">The options; <see langword="null"/> uses the defaults.</param>
    /// <returns>The scalar loss (owned by the caller) and the statistics.</returns>
    public static (Tensor Loss, PolicyLossStatistics Statistics) Compute(PolicyLossInputs inputs, PolicyLossOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        options ??= new PolicyLossOptions();
        using var scope = NewDisposeScope();

        ScalarType ct = inputs.LogProbs.dtype == ScalarType.Float64 ? ScalarType.Float64 : ScalarType.Float32;
        Tensor valid = inputs.Mask.dtype == ScalarType.Bool ? inputs.Mask : inputs.Mask.ne(0);
        Tensor invalid = valid.logical_not();
        Tensor maskF = valid.to(ct);
        Tensor Clean(Tensor t) => t.to(ct).masked_fill(invalid, 0.0);

        long b = inputs.LogProbs.shape[0];
        long t = inputs.LogProbs.shape[1];
        Tensor logp = Clean(inputs.LogProbs);
        Tensor old = inputs.OldLogProbs is null ? logp.detach() : Clean(inputs.OldLogProbs);
        Tensor adv = inputs.Advantages.dim() == 1 ? inputs.Advantages.to(ct).unsqueeze(1) : Clean(inputs.Advantages);
        Tensor rowTokens = maskF.sum(1);
        Tensor tokenCount = maskF.sum();

        // Importance ratio (verl/OpenRLHF clamp the log-ratio; TRL does not; GSPO averages it over the sequence).
        Tensor logRatio = logp - old;
        if (options.LogRatioClamp is double lrc)
        {
            logRatio = logRatio.clamp(-lrc, lrc);
        }

        Tensor ratio = options.RatioLevel == RatioLevel.Token
            ? logRatio.exp()
            : ((logRatio * maskF).sum(1) / rowTokens.clamp_min(1.0)).exp().unsqueeze(1).expand(b, t);

        Tensor perToken;
        Tensor clipLow;
        Tensor clipHigh;
        Tensor dual;
        if (options.Objective == PolicyObjective.Clip)
        {
            Tensor coef1 = options.Delta is double delta ? ratio.clamp_max(delta) : ratio;
            Tensor coef2 = ratio.clamp(1 - options.EpsilonLow, 1 + options.EpsilonHigh);
            Tensor clipped = -torch.minimum(coef1 * adv, coef2 * adv);
            perToken = clipped;
            if (options.DualClip is double c)
            {
                Tensor lower = -adv * c;
                perToken = torch.where(adv.lt(0), torch.minimum(lower, clipped), clipped);
                dual = adv.lt(0).logical_and(clipped.gt(lower));
            }
            else
            {
                dual = zeros_like(valid);
            }

            clipLow = ratio.lt(1 - options.EpsilonLow).logical_and(adv.lt(0));
            clipHigh = ratio.gt(1 + options.EpsilonHigh).logical_and(adv.gt(0));
        }
        else
        {
            Tensor capped = ratio.clamp_max(options.EpsilonHigh).detach();
            perToken = -capped * adv * logp;
            clipLow = zeros_like(valid);
            clipHigh = ratio.gt(options.EpsilonHigh);
            dual = zeros_like(valid);
        }

        // Sampler correction: w = exp(old − sampler) per token or exp(Σ_t M (old − sampler)) per sequence.
        Tensor samplerOutside = zeros_like(valid);
        if (options.SamplerCorrection != SamplerCorrectionMode.None)
        {
            Tensor logW = Clean(inputs.OldLogProbs!) - Clean(inputs.SamplerLogProbs!);
            if (options.SamplerCorrectionPerSequence)
            {
                logW = (logW * maskF).sum(1, keepdim: true).expand(b, t);
            }

            Tensor w = logW.exp();
            samplerOutside = w.lt(options.SamplerCorrectionMin).logical_or(w.gt(options.SamplerCorrectionMax));
            w = options.SamplerCorrection == SamplerCorrectionMode.Truncate
                ? w.clamp(options.SamplerCorrectionMin, options.SamplerCorrectionMax)
                : w.masked_fill(samplerOutside, 0.0);
            perToken = perToken * w;
        }

        // TRL's top-entropy mask: the policy term only, before β·KL.
        long keptTokens = -1;
        if (options.TopEntropyQuantile < 1)
        {
            Tensor keep = TopEntropyMask(inputs.Entropy!, valid, options.TopEntropyQuantile);
            keptTokens = keep.sum().item<long>();
            perToken = perToken * keep.to(ct);
        }

        Tensor klSum = zeros(1, dtype: ct);
        if (options.Beta > 0)
        {
            Tensor x = Clean(inputs.ReferenceLogProbs!) - logp;
            if (options.KlLogRatioClamp is double klc)
            {
                x = x.clamp(-klc, klc);
            }

            Tensor kl = options.KlEstimator switch
            {
                KlEstimator.K1 => -x,
                KlEstimator.K2 => 0.5 * x * x,
                _ => x.exp() - x - 1,
            };
            if (options.KlValueClamp is double kvc)
            {
                kl = kl.clamp(-kvc, kvc);
            }

            perToken = perToken + options.Beta * kl;
            klSum = kl.detach().masked_fill(invalid, 0.0).sum();
        }

        Tensor maskedLoss = perToken.masked_fill(invalid, 0.0);
        Tensor loss = options.Aggregation switch
        {
            LossAggregation.SequenceMeanTokenMean => (maskedLoss.sum(1) / rowTokens.clamp_min(1.0)).mean(),
            LossAggregation.TokenMean => maskedLoss.sum() / tokenCount.clamp_min(1.0),
            LossAggregation.ConstantNormalizer => maskedLoss.sum() / (b * (double)(options.MaxCompletionLength ?? (int)t)),
            _ => maskedLoss.sum(),
        };

        // verl's entropy bonus: loss − c · agg(H), the same aggregation.
        double entropyBonus = 0;
        if (options.EntropyCoefficient > 0)
        {
            Tensor h = Clean(inputs.Entropy!);
            Tensor aggregated = options.Aggregation switch
            {
                LossAggregation.SequenceMeanTokenMean => (h.sum(1) / rowTokens.clamp_min(1.0)).mean(),
                LossAggregation.TokenMean => h.sum() / tokenCount.clamp_min(1.0),
                LossAggregation.ConstantNormalizer => h.sum() / (b * (double)(options.MaxCompletionLength ?? (int)t)),
                _ => h.sum(),
            };
            loss = loss - (options.EntropyCoefficient * aggregated);
            entropyBonus = options.EntropyCoefficient * aggregated.detach().to(ScalarType.Float64).item<double>();
        }

        long count = valid.sum().item<long>();
        double denominator = Math.Max(1.0, count);
        double Fraction(Tensor flags) => flags.logical_and(valid).sum().item<long>() / denominator;
        var statistics = new PolicyLossStatistics(
            ClipFractionLow: Fraction(clipLow),
            ClipFractionHigh: Fraction(clipHigh),
            DualClipFraction: Fraction(dual),
            MeanRatio: ratio.detach().masked_fill(invalid, 0.0).sum().to(ScalarType.Float64).item<double>() / denominator,
            MeanKl: klSum.to(ScalarType.Float64).item<double>() / denominator,
            SamplerCorrectionFraction: Fraction(samplerOutside),
            TokenCount: count,
            EntropyBonus: entropyBonus,
            EntropyMaskedFraction: keptTokens < 0 || count == 0 ? 0.0 : (count - keptTokens) / (double)count);
        return (loss.MoveToOuterDisposeScope(), statistics);
    }

    /// <summary>
    /// TRL's <c>get_high_entropy_mask</c> with threshold 1 − ρ: valid tokens whose entropy is ≥ the (1 − ρ) quantile of the
    /// valid entropies, by <c>torch.quantile</c>'s rule written out: sort, rank r = q·(n − 1) in the compute dtype, then
    /// <c>lerp</c>(v[⌊r⌋], v[⌈r⌉], r − ⌊r⌋) as ATen's lerp forms it. No valid tokens: none kept.
    /// </summary>
    /// <param name="entropy">The entropies [B, T].</param>
    /// <param name="valid">The bool mask [B, T].</param>
    /// <param name="rho">ρ, TRL's top_entropy_quantile.</param>
    /// <returns>The bool mask [B, T] of kept policy terms.</returns>
    public static Tensor TopEntropyMask(Tensor entropy, Tensor valid, double rho)
    {
        bool single = entropy.dtype != ScalarType.Float64;
        double[] h = entropy.detach().to(single ? ScalarType.Float32 : ScalarType.Float64).to(ScalarType.Float64).cpu().data<double>().ToArray();
        bool[] v = valid.cpu().reshape(-1).data<bool>().ToArray();
        double[] sorted = h.Where((_, i) => v[i]).Order().ToArray();
        var keep = new bool[h.Length];
        if (sorted.Length > 0)
        {
            double threshold;
            if (single)
            {
                float q = (float)(1.0 - rho);
                float rank = q * (sorted.Length - 1);
                int below = (int)rank;
                int above = (int)MathF.Ceiling(rank);
                float weight = rank - below;
                float low = (float)sorted[below];
                float high = (float)sorted[above];
                threshold = weight < 0.5f ? low + (weight * (high - low)) : high - ((high - low) * (1 - weight));
            }
            else
            {
                double q = 1.0 - rho;
                double rank = q * (sorted.Length - 1);
                int below = (int)rank;
                int above = (int)Math.Ceiling(rank);
                double weight = rank - below;
                double low = sorted[below];
                double high = sorted[above];
                threshold = weight < 0.5 ? low + (weight * (high - low)) : high - ((high - low) * (1 - weight));
            }

            for (int i = 0; i < h.Length; i++)
            {
                keep[i] = v[i] && h[i] >= threshold;
            }
        }

        return tensor(keep).reshape(entropy.shape).to(entropy.device);
    }
}
