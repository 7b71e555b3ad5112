using TorchSharp;
using static TorchSharp.torch;

namespace Vepa.Grpo;

/// <summary>
/// Sums a step's sampler-vs-trainer mismatch over the loss's tokens at the first pass (every active row once): the k3 estimate of
/// KL(π_sampler ‖ π_old) and the share of tokens whose sampler weight w = π_old / π_sampler lies outside the loss's
/// [SamplerCorrectionMin, SamplerCorrectionMax] (per sequence when the loss forms its weights per sequence).
/// </summary>
/// <remarks>
/// k3 with r = π_old / π_sampler: r − 1 − log r ≥ 0 per token, and E_{x ~ π_sampler}[r − 1 − log r] = KL(π_sampler ‖ π_old) since
/// the tokens were drawn by the sampler (verl's <c>rollout_corr/k3_kl</c>). "Old" is the trainer's log-prob of the weights the batch
/// trains from: the behaviour policy's own copy when a batch was sampled ahead from one, otherwise the policy before the step's
/// first update. Computed in float64; one host read per micro-batch.
/// </remarks>
internal sealed class SamplerMismatch
{
    private readonly Tensor _samplerLogProbs;
    private readonly double _min;
    private readonly double _max;
    private readonly bool _perSequence;
    private double _kl;
    private double _outside;
    private double _tokens;

    private SamplerMismatch(Tensor samplerLogProbs, PolicyLossOptions loss)
    {
        _samplerLogProbs = samplerLogProbs;
        _min = loss.SamplerCorrectionMin;
        _max = loss.SamplerCorrectionMax;
        _perSequence = loss.SamplerCorrectionPerSequence;
    }

    /// <summary>Gets the token-mean k3 estimate of KL(π_sampler ‖ π_old), or NaN when no token was seen.</summary>
    public double Kl => _tokens == 0 ? double.NaN : _kl / _tokens;

    /// <summary>Gets the share of tokens whose sampler weight lies outside the bounds, or NaN when no token was seen.</summary>
    public double OutsideFraction => _tokens == 0 ? double.NaN : _outside / _tokens;

    /// <summary>Starts the sums for a batch; <see langword="null"/> when the sampler reported no log-probs.</summary>
    /// <param name="samplerLogProbs">The sampler's log-probs [B, T] on the trainer's device (a tensor of the step's scope), or <see langword="null"/>.</param>
    /// <param name="loss">The step's loss settings (the correction's bounds and granularity).</param>
    public static SamplerMismatch? For(Tensor? samplerLogProbs, PolicyLossOptions loss)
        => samplerLogProbs is null ? null : new SamplerMismatch(samplerLogProbs, loss);

    /// <summary>Adds a micro-batch of the first pass (iteration 0); later passes would count rows twice and are ignored.</summary>
    /// <param name="iteration">The pass over the batch (0-based).</param>
    /// <param name="old">The old log-probs of every row [B, T], or <see langword="null"/> when the step keeps none (then the current log-probs are the old ones).</param>
    /// <param name="logProbs">The micro-batch's current log-probs [R, T].</param>
    /// <param name="rows">The micro-batch's rows [R], int64.</param>
    /// <param name="mask">The loss mask of the micro-batch [R, T], bool.</param>
    public void Add(int iteration, Tensor? old, Tensor logProbs, Tensor rows, Tensor mask)
    {
        if (iteration != 0)
        {
            return;
        }

        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var valid = mask.to(ScalarType.Bool);
        var trainer = (old?.index_select(0, rows) ?? logProbs).detach().to(ScalarType.Float64);
        var sampler = _samplerLogProbs.index_select(0, rows).to(ScalarType.Float64, trainer.device);
        var logRatio = (trainer - sampler).masked_fill(valid.logical_not(), 0.0);
        var k3 = logRatio.exp() - logRatio - 1.0;
        var logWeights = _perSequence ? logRatio.sum(1, keepdim: true).expand_as(logRatio) : logRatio;
        var weights = logWeights.exp();
        var outside = weights.lt(_min).logical_or(weights.gt(_max)).logical_and(valid);
        double[] sums = stack([k3.sum(), outside.to(ScalarType.Float64).sum(), valid.to(ScalarType.Float64).sum()]).cpu().data<double>().ToArray();
        _kl += sums[0];
        _outside += sums[1];
        _tokens += sums[2];
    }
}
