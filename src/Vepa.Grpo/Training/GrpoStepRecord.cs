namespace Vepa.Grpo;

/// <summary>What one GRPO step did: the numbers people watch in TRL and verl runs. Means are over the rollouts (or tokens) named.</summary>
/// <remarks>A value that does not exist in a step (no scored reward, no update) is <see cref="double.NaN"/>.</remarks>
public sealed record GrpoStepRecord
{
    /// <summary>Gets the 1-based step number.</summary>
    public required int Step { get; init; }

    /// <summary>Gets the learning rate of this step's optimizer updates.</summary>
    public required double LearningRate { get; init; }

    /// <summary>Gets P, the prompts of the step.</summary>
    public required int PromptCount { get; init; }

    /// <summary>Gets B = P × G, the rollouts of the step.</summary>
    public required int RolloutCount { get; init; }

    /// <summary>Gets the mean reward over the scored rollouts (TRL <c>reward</c>).</summary>
    public required double RewardMean { get; init; }

    /// <summary>Gets the standard deviation (Bessel-corrected) of the scored rewards (TRL <c>reward_std</c> over the batch).</summary>
    public required double RewardStd { get; init; }

    /// <summary>Gets the mean of each named reward component over the scored rollouts (for the sufficiency reward: s, h, gamma).</summary>
    public required IReadOnlyDictionary<string, double> RewardComponents { get; init; }

    /// <summary>Gets the rollouts whose reward failed (NaN): excluded from the statistics, advantage 0.</summary>
    public required int FailedRewardCount { get; init; }

    /// <summary>Gets the most frequent failure reason of the step's failed rewards, or <see langword="null"/> when none failed.</summary>
    /// <value>For a reward model that threw: its exception type and, for the host's own code, its message (HTTP and SDK client
    /// messages, which may quote a server's response or credentials, are left out).</value>
    public string? RewardFailureReason { get; init; }

    /// <summary>
    /// Gets whether the step had no usable reward: every reward failed, or so many that no group kept two scored rewards to compare
    /// (its advantages would all be 0). Such a step does not update the policy (no log-probs, no optimizer step,
    /// no reference sync); it still counts as a completed step. After <see cref="GrpoTrainerOptions.MaxConsecutiveFailedRewardSteps"/>
    /// such steps in a row, <see cref="GrpoTrainer.TrainAsync(IAsyncEnumerable{IReadOnlyList{PolicyPrompt}}, IProgress{GrpoStepRecord}?, CancellationToken)"/>
    /// throws <see cref="GrpoRewardFailureException"/>.
    /// </summary>
    public bool AllRewardsFailed { get; init; }

    /// <summary>Gets the reward of each rollout (group after group, P × G values; NaN where the reward failed), after resampling.</summary>
    public IReadOnlyList<double> RolloutRewards { get; init; } = [];

    /// <summary>Gets the advantage of each rollout (group after group, P × G values; 0 for failed rewards and zero-signal groups).</summary>
    public IReadOnlyList<double> RolloutAdvantages { get; init; } = [];

    /// <summary>
    /// Gets the rollouts whose evidence made the reward fail (<see cref="RewardResult.IsPenalized"/>: an over-long evidence, a
    /// reply the evidence made unreadable, a context-length error): scored with the reward's penalty and trained on like any
    /// score, counted here apart from <see cref="FailedRewardCount"/> (infrastructure failures, excluded).
    /// </summary>
    public int PenalizedRewardCount { get; init; }

    /// <summary>Gets the fraction of groups that carry no signal (fewer than 2 scored rewards or all equal) after resampling (TRL <c>frac_reward_zero_std</c>).</summary>
    public required double ZeroSignalGroupFraction { get; init; }

    /// <summary>Gets the groups sampled again (summed over rounds) under <see cref="ZeroSignalGroupHandling.Resample"/>.</summary>
    public required int ResampledGroupCount { get; init; }

    /// <summary>Gets the groups dropped from the update.</summary>
    public required int DroppedGroupCount { get; init; }

    /// <summary>Gets the mean advantage over the rows in the update.</summary>
    public required double AdvantageMean { get; init; }

    /// <summary>Gets the standard deviation of the advantages over the rows in the update.</summary>
    public required double AdvantageStd { get; init; }

    /// <summary>Gets the smallest advantage.</summary>
    public required double AdvantageMin { get; init; }

    /// <summary>Gets the largest advantage.</summary>
    public required double AdvantageMax { get; init; }

    /// <summary>Gets the objective the step optimised: the mean over its optimizer updates of each update's minibatch loss (the
    /// micro-batch losses weighted as their gradients are, see docs/trainer.md). NaN when the step made no update.</summary>
    public required double Loss { get; init; }

    /// <summary>Gets the token-mean KL estimate against the reference (0 when β = 0; TRL <c>kl</c>).</summary>
    public required double Kl { get; init; }

    /// <summary>Gets the fraction of tokens clipped below (ρ &lt; 1 − ε_low, A &lt; 0; TRL <c>clip_ratio/low_mean</c>).</summary>
    public required double ClipFractionLow { get; init; }

    /// <summary>Gets the fraction of tokens clipped above (ρ &gt; 1 + ε_high, A &gt; 0; TRL <c>clip_ratio/high_mean</c>).</summary>
    public required double ClipFractionHigh { get; init; }

    /// <summary>Gets the fraction of tokens where verl's dual clip is active.</summary>
    public required double DualClipFraction { get; init; }

    /// <summary>Gets the token-mean importance ratio ρ.</summary>
    public required double MeanRatio { get; init; }

    /// <summary>Gets the token-mean entropy of the policy over the completion tokens (NaN when not computed; TRL <c>entropy</c>).</summary>
    public required double Entropy { get; init; }

    /// <summary>Gets the mean completion length in tokens (TRL <c>completions/mean_length</c>).</summary>
    public required double CompletionLengthMean { get; init; }

    /// <summary>Gets the longest completion in tokens.</summary>
    public required int CompletionLengthMax { get; init; }

    /// <summary>Gets the fraction of completions truncated at the length limit (TRL <c>completions/clipped_ratio</c>).</summary>
    public required double TruncatedFraction { get; init; }

    /// <summary>Gets the statistics of the step's first optimizer update, or <see langword="null"/> when it made none.</summary>
    public GrpoUpdateStatistics? FirstUpdate { get; init; }

    /// <summary>Gets the statistics of the step's last optimizer update (the same as <see cref="FirstUpdate"/> with one update), or <see langword="null"/> when it made none.</summary>
    public GrpoUpdateStatistics? LastUpdate { get; init; }

    /// <summary>Gets the total gradient norm before clipping, averaged over the step's optimizer updates (TRL <c>grad_norm</c>).</summary>
    public required double GradNorm { get; init; }

    /// <summary>Gets the optimizer steps taken.</summary>
    public required int OptimizerSteps { get; init; }

    /// <summary>Gets the optimizer steps skipped because the gradient norm was not finite (the parameters were left unchanged).</summary>
    public required int SkippedOptimizerSteps { get; init; }

    /// <summary>Gets the completion tokens of the step, Σ mask.</summary>
    public required long CompletionTokens { get; init; }

    /// <summary>Gets completion tokens per second of step time.</summary>
    public required double TokensPerSecond { get; init; }

    /// <summary>Gets where the step's time went.</summary>
    public required GrpoStepTimings Timings { get; init; }

    /// <summary>Gets the mean reward of each reward component over the rollouts it scored, by component name (NaN when it scored none):
    /// "reward" for a trainer over one reward model, the <see cref="RewardComponent.Name"/>s otherwise, and "overlong" when
    /// <see cref="GrpoTrainerOptions.OverlongBufferLength"/> is on. Unweighted.</summary>
    public IReadOnlyDictionary<string, double> ComponentRewardMeans { get; init; } = new Dictionary<string, double>();

    /// <summary>Gets the rollouts each reward component failed to score, by component name. A rollout counts in
    /// <see cref="FailedRewardCount"/> when any of its components failed.</summary>
    public IReadOnlyDictionary<string, int> ComponentFailureCounts { get; init; } = new Dictionary<string, int>();

    /// <summary>Gets the completions logged for this step (<see cref="GrpoTrainerOptions.LogCompletions"/>); empty when off.</summary>
    public IReadOnlyList<GrpoCompletionSample> Completions { get; init; } = [];

    /// <summary>Gets the evaluation run after this step (<see cref="GrpoTrainerOptions.EvaluateEvery"/>), or <see langword="null"/>.</summary>
    public GrpoEvaluationResult? Evaluation { get; init; }

    /// <summary>Gets the weight version the step's rollouts were sampled under (optimizer updates applied to those weights).</summary>
    public long RolloutWeightVersion { get; init; }

    /// <summary>Gets how many optimizer updates the rollouts are behind the weights they train: the trainer's version at the
    /// update minus <see cref="RolloutWeightVersion"/> (0 on-policy; one step's updates with overlapped generation).</summary>
    public long WeightVersionLag { get; init; }

    /// <summary>Gets the sampler-correction mode the step's loss used: the configured one, or
    /// <see cref="SamplerCorrectionMode.Truncate"/> when <see cref="GrpoTrainerOptions.AutoSamplerCorrection"/> turned it on.</summary>
    public SamplerCorrectionMode SamplerCorrection { get; init; }

    /// <summary>Gets the k3 estimate of KL(π_sampler ‖ π_old) over the loss's tokens at the first pass: the token mean of
    /// r − 1 − log r with r = π_old / π_sampler (verl <c>rollout_corr/k3_kl</c>); NaN without sampler log-probs.</summary>
    public double SamplerKl { get; init; } = double.NaN;

    /// <summary>Gets the share of the loss's tokens whose sampler weight w = π_old / π_sampler lies outside the loss's
    /// [SamplerCorrectionMin, SamplerCorrectionMax]: truncated or masked when the correction is on, and would be when it is off;
    /// NaN without sampler log-probs.</summary>
    public double SamplerCorrectionFraction { get; init; } = double.NaN;

    /// <summary>Gets the tokens the update's forward/backward passes computed, summed over every micro-batch of every pass: per
    /// micro-batch, rows × (longest prompt + completion positions computed). Padding included; the old and reference log-prob
    /// passes are not counted.</summary>
    /// <value>Row-based micro-batches compute the batch's full completion length T; with
    /// <see cref="GrpoTrainerOptions.MicroBatchTokenBudget"/> a micro-batch stops at its longest completion. 0 when the step made no update.</value>
    public long UpdateTokensComputed { get; init; }

    /// <summary>Gets the fraction of <see cref="UpdateTokensComputed"/> that was padding: 1 − Σ (prompt + completion tokens) / computed (NaN without an update).</summary>
    public double UpdatePaddingFraction { get; init; } = double.NaN;

    /// <summary>Gets the entropy bonus the loss subtracted, c · agg(H) (<see cref="PolicyLossOptions.EntropyCoefficient"/>;
    /// verl <c>actor/entropy</c> times the coefficient), token-weighted over the step's micro-batches; 0 when off.</summary>
    public double EntropyBonus { get; init; }

    /// <summary>Gets the fraction of valid tokens whose policy term the top-entropy mask dropped
    /// (<see cref="PolicyLossOptions.TopEntropyQuantile"/>; about 1 − ρ); 0 when off.</summary>
    public double EntropyMaskedFraction { get; init; }
}
