namespace Vepa.Grpo;

/// <summary>Where a training step's wall-clock time went.</summary>
/// <param name="Generation">Sampling the rollouts (including resampling rounds).</param>
/// <param name="Reward">Scoring the rollouts (including resampling rounds).</param>
/// <param name="LogProbs">The no-gradient passes: old log-probs (μ &gt; 1 or several minibatches) and reference log-probs (β &gt; 0).</param>
/// <param name="Update">The policy's forward and backward passes, the loss, gradient clipping and the optimizer steps.</param>
/// <param name="Total">The whole step, from the call to the record.</param>
public sealed record GrpoStepTimings(TimeSpan Generation, TimeSpan Reward, TimeSpan LogProbs, TimeSpan Update, TimeSpan Total)
{
    /// <summary>Gets the time outside the four phases: the trainer's own bookkeeping (advantages, masks, metrics, the step log).</summary>
    public TimeSpan Bookkeeping => Total - Generation - Reward - LogProbs - Update;
}
