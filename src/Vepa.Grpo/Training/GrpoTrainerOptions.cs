using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Text.Json.Serialization;

namespace Vepa.Grpo;

/// <summary>
/// Settings of the <see cref="GrpoTrainer"/>. The defaults follow the VEPA paper: G = 4, temperature 0.9, β = 0.01 with k3 against
/// the frozen pre-stage model, clip ε = 0.2, sequence-mean of token-mean, AdamW at 1e-6, constant after a 5 % linear warm-up.
/// </summary>
/// <remarks>
/// <para>The advantage and loss settings are the kernels' own options, nested (<see cref="Advantages"/>, <see cref="Loss"/>), and the
/// sampling settings are <see cref="SamplingOptions"/> (<see cref="Sampling"/>). docs/trainer.md maps every setting to its TRL and verl name.</para>
/// <para><see cref="Validate"/> checks data annotations, the rules that span settings and the nested options, and throws one
/// <see cref="ArgumentException"/> listing every problem; the trainer calls it, and the DI registration runs it at start-up.
/// Bind it from configuration (an <c>appsettings.json</c> section). Not thread-safe to mutate; the trainer keeps its own copy.</para>
/// </remarks>
public sealed class GrpoTrainerOptions : IValidatableObject
{
    /// <summary>Gets or sets G, the completions sampled per prompt.</summary>
    /// <value>The default is 4 (VEPA). Must be in [2, 4096].</value>
    [Range(2, 4096, ErrorMessage = "{0} must be in [2, 4096]")]
    public int GroupSize { get; set; } = 4;

    /// <summary>Gets or sets how completions are sampled; its temperature is also the temperature of the log-probs.</summary>
    /// <value>The default is temperature 0.9 (VEPA), top-p 1, no top-k, 128 new tokens, no stop tokens. Its <see cref="SamplingOptions.Seed"/> is ignored: the trainer derives one per step from <see cref="Seed"/>.</value>
    [Required(ErrorMessage = "{0} must not be null")]
    public SamplingOptions Sampling { get; set; } = new() { Temperature = 0.9 };

    /// <summary>Gets or sets how rewards become advantages.</summary>
    /// <value>The default is the group std normalisation with ε = 1e-4 (GRPO, TRL). Its <see cref="AdvantageOptions.GroupSize"/>, when set, must equal <see cref="GroupSize"/>.</value>
    [Required(ErrorMessage = "{0} must not be null")]
    public AdvantageOptions Advantages { get; set; } = new();

    /// <summary>Gets or sets the policy loss.</summary>
    /// <value>The default is VEPA's: clip ε = 0.2, β = 0.01 with k3, sequence-mean of token-mean.</value>
    [Required(ErrorMessage = "{0} must not be null")]
    public PolicyLossOptions Loss { get; set; } = new() { Beta = 0.01, KlEstimator = KlEstimator.K3 };

    /// <summary>Gets or sets the peak learning rate of AdamW.</summary>
    /// <value>The default is 1e-6 (VEPA). Must be finite and &gt; 0.</value>
    [Range(0.0, double.MaxValue, MinimumIsExclusive = true, ErrorMessage = "{0} must be finite and > 0")]
    public double LearningRate { get; set; } = 1e-6;

    /// <summary>Gets or sets the schedule after the warm-up.</summary>
    /// <value>The default is <see cref="LearningRateSchedule.Constant"/> (VEPA).</value>
    public LearningRateSchedule Schedule { get; set; } = LearningRateSchedule.Constant;

    /// <summary>Gets or sets what one position of the schedule is: a GRPO step (verl) or an optimizer update (TRL).</summary>
    /// <value>The default is <see cref="LearningRateScheduleUnit.Step"/>. With <see cref="LearningRateScheduleUnit.OptimizerUpdate"/>,
    /// <see cref="WarmupSteps"/> counts updates and <see cref="MaxScheduleUpdates"/> is the horizon.</value>
    public LearningRateScheduleUnit SchedulePer { get; set; } = LearningRateScheduleUnit.Step;

    /// <summary>Gets or sets the schedule's horizon in optimizer updates when <see cref="SchedulePer"/> is <see cref="LearningRateScheduleUnit.OptimizerUpdate"/> (TRL's <c>max_steps</c>).</summary>
    /// <value>The default is <see langword="null"/>; required (≥ 1) with <see cref="LearningRateScheduleUnit.OptimizerUpdate"/>, ignored otherwise.</value>
    [Range(1, int.MaxValue, ErrorMessage = "{0} must be >= 1")]
    public int? MaxScheduleUpdates { get; set; }

    /// <summary>Gets or sets the host's own schedule: the learning rate at a 1-based schedule position (a step or an update, see <see cref="SchedulePer"/>); it replaces <see cref="Schedule"/>, the warm-up and <see cref="LearningRate"/>'s role as the peak.</summary>
    /// <value>The default is <see langword="null"/> (the built-in schedule). Must return a finite rate ≥ 0. Not bound from configuration and not saved in checkpoints.</value>
    [JsonIgnore]
    public Func<long, double>? LearningRateFunction { get; set; }

    /// <summary>Gets or sets a factory for the optimizer (any TorchSharp optimizer over the given parameters); <see langword="null"/> uses AdamW with <see cref="LearningRate"/>, <see cref="AdamBeta1"/>, <see cref="AdamBeta2"/>, <see cref="AdamEpsilon"/> and <see cref="WeightDecay"/>.</summary>
    /// <value>The default is <see langword="null"/>. The trainer owns (and disposes) what it returns, sets every parameter group's
    /// learning rate before each update, and saves and restores its state in checkpoints (<c>optimizer.bin</c>, TorchSharp's
    /// optimizer state format). Not bound from configuration and not saved in checkpoints.</value>
    [JsonIgnore]
    public Func<IReadOnlyList<TorchSharp.Modules.Parameter>, TorchSharp.torch.optim.Optimizer>? OptimizerFactory { get; set; }

    /// <summary>Gets or sets the fraction of the schedule's horizon spent in the linear warm-up (rounded up to whole positions); ignored when <see cref="WarmupSteps"/> is set.</summary>
    /// <value>The default is 0.05 (VEPA). Must be in [0, 1].</value>
    [Range(0.0, 1.0, ErrorMessage = "{0} must be in [0, 1]")]
    public double WarmupRatio { get; set; } = 0.05;

    /// <summary>Gets or sets the warm-up length in schedule positions (steps, or optimizer updates with <see cref="LearningRateScheduleUnit.OptimizerUpdate"/>); <see langword="null"/> uses <see cref="WarmupRatio"/>.</summary>
    /// <value>The default is <see langword="null"/>. When set, must be in [0, horizon] (<see cref="MaxSteps"/> or <see cref="MaxScheduleUpdates"/>).</value>
    [Range(0, int.MaxValue, ErrorMessage = "{0} must be >= 0")]
    public int? WarmupSteps { get; set; }

    /// <summary>Gets or sets the learning rate the linear and cosine schedules end at, as a fraction of the peak.</summary>
    /// <value>The default is 0. Must be in [0, 1].</value>
    [Range(0.0, 1.0, ErrorMessage = "{0} must be in [0, 1]")]
    public double MinLearningRateRatio { get; set; }

    /// <summary>Gets or sets the number of training steps: the schedule's horizon and where <see cref="GrpoTrainer.TrainAsync(IEnumerable{IReadOnlyList{PolicyPrompt}}, IProgress{GrpoStepRecord}?, CancellationToken)"/> stops.</summary>
    /// <value>The default is 220 (the paper's run). Must be ≥ 1.</value>
    [Range(1, int.MaxValue, ErrorMessage = "{0} must be >= 1")]
    public int MaxSteps { get; set; } = 220;

    /// <summary>Gets or sets AdamW's β₁.</summary>
    /// <value>The default is 0.9. Must be in [0, 1).</value>
    [Range(0.0, 1.0, MaximumIsExclusive = true, ErrorMessage = "{0} must be in [0, 1)")]
    public double AdamBeta1 { get; set; } = 0.9;

    /// <summary>Gets or sets AdamW's β₂.</summary>
    /// <value>The default is 0.999. Must be in [0, 1).</value>
    [Range(0.0, 1.0, MaximumIsExclusive = true, ErrorMessage = "{0} must be in [0, 1)")]
    public double AdamBeta2 { get; set; } = 0.999;

    /// <summary>Gets or sets AdamW's ε.</summary>
    /// <value>The default is 1e-8. Must be finite and &gt; 0.</value>
    [Range(0.0, double.MaxValue, MinimumIsExclusive = true, ErrorMessage = "{0} must be finite and > 0")]
    public double AdamEpsilon { get; set; } = 1e-8;

    /// <summary>Gets or sets AdamW's decoupled weight decay.</summary>
    /// <value>The default is 0 (TRL). Must be finite and ≥ 0.</value>
    [Range(0.0, double.MaxValue, ErrorMessage = "{0} must be finite and >= 0")]
    public double WeightDecay { get; set; }

    /// <summary>Gets or sets the total gradient norm the gradients are clipped to before each optimizer step; <see langword="null"/> disables clipping (the norm is still reported).</summary>
    /// <value>The default is 1 (TRL). When set, must be finite and &gt; 0.</value>
    [Range(0.0, double.MaxValue, MinimumIsExclusive = true, ErrorMessage = "{0} must be finite and > 0")]
    public double? MaxGradNorm { get; set; } = 1.0;

    /// <summary>Gets or sets μ, the passes over each batch of rollouts. With μ = 1 and one minibatch there is one optimizer step per batch and no separate forward pass for the old log-probs (π_old = stopgrad(π_θ)).</summary>
    /// <value>The default is 1 (TRL). Must be in [1, 64].</value>
    [Range(1, 64, ErrorMessage = "{0} must be in [1, 64]")]
    public int Iterations { get; set; } = 1;

    /// <summary>Gets or sets the rows (completions) per optimizer step; <see langword="null"/> uses the whole batch.</summary>
    /// <value>The default is <see langword="null"/>. When set, must be ≥ 1 and at most the batch's rows (prompts × G, checked per step).</value>
    [Range(1, int.MaxValue, ErrorMessage = "{0} must be >= 1")]
    public int? MiniBatchSize { get; set; }

    /// <summary>Gets or sets the rows per forward/backward pass; gradients of the micro-batches of a minibatch are accumulated. <see langword="null"/> uses the minibatch.</summary>
    /// <value>The default is <see langword="null"/>. When set, must be ≥ 1 and divide <see cref="MiniBatchSize"/> when that is set.</value>
    [Range(1, int.MaxValue, ErrorMessage = "{0} must be >= 1")]
    public int? MicroBatchSize { get; set; }

    /// <summary>Gets or sets whether the rows are shuffled (seeded) before they are cut into minibatches, in every pass.</summary>
    /// <value>The default is <see langword="true"/>.</value>
    public bool ShuffleMiniBatches { get; set; } = true;

    /// <summary>Gets or sets whether truncated completions (no stop token within the length limit) are masked out of the loss.</summary>
    /// <value>The default is <see langword="false"/> (TRL).</value>
    public bool MaskTruncatedCompletions { get; set; }

    /// <summary>Gets or sets what happens to zero-signal groups.</summary>
    /// <value>The default is <see cref="ZeroSignalGroupHandling.Keep"/>.</value>
    public ZeroSignalGroupHandling ZeroSignalGroups { get; set; } = ZeroSignalGroupHandling.Keep;

    /// <summary>Gets or sets the most resampling rounds per step for <see cref="ZeroSignalGroupHandling.Resample"/>.</summary>
    /// <value>The default is 3. Must be in [1, 16].</value>
    [Range(1, 16, ErrorMessage = "{0} must be in [1, 16]")]
    public int MaxResampleRounds { get; set; } = 3;

    /// <summary>Gets or sets how often (in steps) the reference model is moved towards the policy (TR-DPO): π_ref ← α·π_θ + (1 − α)·π_ref. <see langword="null"/> keeps the reference frozen (VEPA).</summary>
    /// <value>The default is <see langword="null"/>. When set, must be ≥ 1.</value>
    [Range(1, int.MaxValue, ErrorMessage = "{0} must be >= 1")]
    public int? ReferenceSyncSteps { get; set; }

    /// <summary>Gets or sets α, the weight of the policy when the reference is synced.</summary>
    /// <value>The default is 0.6 (TRL). Must be in [0, 1].</value>
    [Range(0.0, 1.0, ErrorMessage = "{0} must be in [0, 1]")]
    public double ReferenceSyncMixAlpha { get; set; } = 0.6;

    /// <summary>Gets or sets the seed every random choice of a step derives from (the sampling seed and the minibatch shuffles of step s depend only on it and s), so runs and resumed runs repeat exactly.</summary>
    /// <value>The default is 42.</value>
    public long Seed { get; set; } = 42;

    /// <summary>Gets or sets whether the per-token entropy is computed in the first update pass, for the step record (one more pass over the vocabulary).</summary>
    /// <value>The default is <see langword="true"/>.</value>
    public bool ComputeEntropy { get; set; } = true;

    /// <summary>Gets or sets how long one step's reward scoring may take before every unscored rollout counts as failed; <see langword="null"/> waits indefinitely.</summary>
    /// <value>The default is <see langword="null"/>. When set, must be positive.</value>
    public TimeSpan? RewardTimeout { get; set; }

    /// <summary>Gets or sets after how many steps in a row without a usable reward (every reward of the step failed, or so many that no group kept two scored rewards) <c>TrainAsync</c> stops with a <see cref="GrpoRewardFailureException"/>.</summary>
    /// <value>The default is 3. Must be ≥ 1. A step without a usable reward never updates the policy, whatever this is.</value>
    [Range(1, int.MaxValue, ErrorMessage = "{0} must be >= 1")]
    public int MaxConsecutiveFailedRewardSteps { get; set; } = 3;

    /// <summary>Gets or sets after how many steps in a row whose every optimizer update was skipped (the gradient norm was not finite) <c>TrainAsync</c> stops with a <see cref="GrpoNonFiniteGradientException"/>.</summary>
    /// <value>The default is 3. Must be ≥ 1. A skipped update never changes the weights; a run that skips them all cannot learn.</value>
    [Range(1, int.MaxValue, ErrorMessage = "{0} must be >= 1")]
    public int MaxConsecutiveNonFiniteGradientSteps { get; set; } = 3;

    /// <summary>Gets or sets whether a fresh run may write into a checkpoint folder that holds another run's checkpoints; those are then deleted when the first checkpoint is written.</summary>
    /// <value>The default is <see langword="false"/>: the first save into such a folder (and <c>TrainAsync</c> at its start) throws <see cref="InvalidOperationException"/>.</value>
    public bool OverwriteCheckpoints { get; set; }

    /// <summary>Gets or sets whether a resume may change settings that break exactness or meaning: <see cref="GroupSize"/>, the loss variant
    /// (<see cref="PolicyLossOptions.Objective"/>, <see cref="PolicyLossOptions.RatioLevel"/>, <see cref="PolicyLossOptions.Aggregation"/>,
    /// <see cref="PolicyLossOptions.KlEstimator"/>, <see cref="PolicyLossOptions.SamplerCorrection"/>), <see cref="Advantages"/>' normalisation
    /// or <see cref="Seed"/>. Other changed settings are applied with a warning.</summary>
    /// <value>The default is <see langword="false"/>: such a resume throws <see cref="InvalidOperationException"/> listing the changes. β switched on or off is always refused (the reference model exists or not).</value>
    public bool AllowResumeWithChangedOptions { get; set; }

    /// <summary>Gets or sets the folder checkpoints are written to; <see langword="null"/> writes none automatically.</summary>
    /// <value>The default is <see langword="null"/>.</value>
    public string? CheckpointDirectory { get; set; }

    /// <summary>Gets or sets how often (in steps) a checkpoint is written to <see cref="CheckpointDirectory"/>; <see langword="null"/> writes one only on cancellation and at the end of training.</summary>
    /// <value>The default is <see langword="null"/>. When set, must be ≥ 1 and needs <see cref="CheckpointDirectory"/>.</value>
    [Range(1, int.MaxValue, ErrorMessage = "{0} must be >= 1")]
    public int? CheckpointEverySteps { get; set; }

    /// <summary>Gets or sets how many of the newest checkpoints are kept in <see cref="CheckpointDirectory"/>; older ones are deleted. <see langword="null"/> keeps all.</summary>
    /// <value>The default is 3. When set, must be ≥ 1.</value>
    [Range(1, int.MaxValue, ErrorMessage = "{0} must be >= 1")]
    public int? KeepCheckpoints { get; set; } = 3;

    /// <summary>Gets or sets the JSON-lines file one step record per line is appended to; <see langword="null"/> writes none.</summary>
    /// <remarks>A fresh run (step 1 without a resume) starts the file anew; a resumed run cuts it to the checkpoint's position and
    /// appends, so the file always holds one line per step of this run, in order.</remarks>
    /// <value>The default is <see langword="null"/>.</value>
    public string? StepLogPath { get; set; }

    /// <summary>Gets or sets how a rollout becomes a reward request; <see langword="null"/> uses <see cref="RolloutBatch.ToRewardRequests()"/> (the completion text is the evidence).</summary>
    /// <value>The default is <see langword="null"/>. Not bound from configuration and not saved in checkpoints.</value>
    [JsonIgnore]
    public Func<PolicyPrompt, string, int, RewardRequest>? RewardRequestFactory { get; set; }

    /// <summary>Gets or sets L_cache, the soft overlong punishment's buffer of DAPO (verl <c>overlong_buffer.len</c>), in tokens; 0 turns it off.</summary>
    /// <value>The default is 0 (off). Must be in [0, <see cref="SamplingOptions.MaxNewTokens"/>]. When on, the trainer adds a reward component
    /// named "overlong" (weight 1): 0 up to L_max − L_cache tokens, ((L_max − L_cache) − length) / L_cache × <see cref="OverlongPenaltyFactor"/>
    /// up to L_max = <see cref="SamplingOptions.MaxNewTokens"/>, and −<see cref="OverlongPenaltyFactor"/> for a truncated completion (docs/trainer.md, "Overlong penalty").</value>
    [Range(0, int.MaxValue, ErrorMessage = "{0} must be >= 0")]
    public int OverlongBufferLength { get; set; }

    /// <summary>Gets or sets the overlong penalty at L_max (verl <c>overlong_buffer.penalty_factor</c>); used when <see cref="OverlongBufferLength"/> &gt; 0.</summary>
    /// <value>The default is 1 (DAPO). Must be finite and &gt; 0.</value>
    [Range(0.0, double.MaxValue, MinimumIsExclusive = true, ErrorMessage = "{0} must be finite and > 0")]
    public double OverlongPenaltyFactor { get; set; } = 1.0;

    /// <summary>Gets or sets the reward from which an evaluation sample counts as a pass, for pass@k (<see cref="GrpoTrainer.EvaluateAsync"/>): pass = reward ≥ this.</summary>
    /// <value>The default is 1 (a 0/1 correctness reward passes at 1). Must be finite.</value>
    public double PassThreshold { get; set; } = 1.0;

    /// <summary>Gets or sets how many of each step's completions are put in the step record (<see cref="GrpoStepRecord.Completions"/>),
    /// the step log and the <see cref="GrpoTrainer.CompletionsLogged"/> event; 0 logs none.</summary>
    /// <value>The default is 0. Must be ≥ 0. The completions are drawn without replacement by a seeded choice (the same in a rerun) that touches no other random state.</value>
    [Range(0, int.MaxValue, ErrorMessage = "{0} must be >= 0")]
    public int LogCompletions { get; set; }

    /// <summary>Gets or sets how often (in steps) the trainer evaluates on <see cref="EvaluationPrompts"/>; 0 never does.</summary>
    /// <value>The default is 0. Must be ≥ 0; when &gt; 0, <see cref="EvaluationPrompts"/> must hold prompts. The result lands in
    /// <see cref="GrpoStepRecord.Evaluation"/> of every K-th step (step % K = 0), after that step's update.</value>
    [Range(0, int.MaxValue, ErrorMessage = "{0} must be >= 0")]
    public int EvaluateEvery { get; set; }

    /// <summary>Gets or sets the prompts of the periodic evaluation (<see cref="EvaluateEvery"/>).</summary>
    /// <value>The default is <see langword="null"/>. Not copied by <see cref="Clone"/> (the list is shared), not bound from configuration and not saved in checkpoints.</value>
    [JsonIgnore]
    public IReadOnlyList<PolicyPrompt>? EvaluationPrompts { get; set; }

    /// <summary>Gets or sets n, the samples per prompt of the periodic evaluation (pass@k is reported for k = 1, 2, 4, … and n).</summary>
    /// <value>The default is 4. Must be in [1, 4096].</value>
    [Range(1, 4096, ErrorMessage = "{0} must be in [1, 4096]")]
    public int EvaluationSamplesPerPrompt { get; set; } = 4;

    /// <summary>Gets or sets how many optimizer updates may pass before the trainer sends the policy's weights to a sampler that
    /// holds its own copy (through the <see cref="IWeightSynchronizer"/> the sampler offers; verl's and TRL's sync "every step" is 1).</summary>
    /// <remarks>The sync runs at the start of a step, before sampling, once at least this many updates were applied since the
    /// last one (after a resume: at the first step). A sampler that offers no synchronizer shares the policy's weights and is never
    /// synced. A failed sync stops training with <see cref="GrpoWeightSyncException"/>.</remarks>
    /// <value>The default is 1. Must be ≥ 1.</value>
    [Range(1, int.MaxValue, ErrorMessage = "{0} must be >= 1")]
    public int WeightSyncEvery { get; set; } = 1;

    /// <summary>Gets or sets whether the sampler-mismatch correction turns itself on for a sampler that samples remotely.</summary>
    /// <remarks>When <see cref="PolicyLossOptions.SamplerCorrection"/> is <see cref="SamplerCorrectionMode.None"/>, the sampler's
    /// <see cref="RolloutSamplerMetadata.SamplesRemotely"/> is <see langword="true"/> and a batch carries
    /// <see cref="RolloutBatch.SamplerLogProbs"/>, the step's loss uses token-level truncated importance sampling
    /// (<see cref="SamplerCorrectionMode.Truncate"/> with the loss's bounds, by default [0, 3]: TRL's cap for vLLM). The trainer logs it once.</remarks>
    /// <value>The default is <see langword="true"/>.</value>
    public bool AutoSamplerCorrection { get; set; } = true;

    /// <summary>Gets or sets whether <c>TrainAsync</c> samples the next step's rollouts while the current step is scored and
    /// trained (one-step off-policy, as verl's one-step-off recipe and TRL's async GRPO).</summary>
    /// <remarks>Batch k + 1 is sampled from the weights as they were after step k − 1, so it trains one step late; with the
    /// policy's own sampler it is sampled from a copy of those weights (one more copy of the model in memory), and its old
    /// log-probs are that copy's (the behaviour policy's), so the clipped ratio accounts for the lag. docs/trainer.md has the
    /// details. <see cref="GrpoTrainer.StepAsync"/> alone never overlaps (it does not know the next batch).</remarks>
    /// <value>The default is <see langword="false"/>. Cannot be combined with <see cref="ZeroSignalGroupHandling.Resample"/>.</value>
    public bool OverlapGeneration { get; set; }

    /// <summary>
    /// Gets or sets the most tokens one micro-batch's forward/backward pass may compute (verl's <c>use_dynamic_bsz</c> with
    /// <c>ppo_max_token_len_per_gpu</c>); 0 cuts micro-batches by rows (<see cref="MicroBatchSize"/>).
    /// </summary>
    /// <value>The default is 0 (off). Must be ≥ 0; when set, <see cref="MicroBatchSize"/> must be unset.</value>
    /// <remarks>
    /// <para>A micro-batch's tokens are the rectangle its pass computes: rows × (longest prompt + longest completion among its
    /// rows), where a completion counts up to its last unmasked token (prompts are left-padded, completions right-padded to the
    /// longest of the pass; a visual prefix is not counted). Each minibatch's rows are packed longest first, a micro-batch growing
    /// while its rectangle stays within the budget, and its pass stops at its longest completion instead of the batch's length.</para>
    /// <para>The gradient and the reported loss are those of row-based micro-batches (each micro-batch's loss is weighted by
    /// its share of the minibatch's normaliser, for every <see cref="LossAggregation"/>). A row that alone exceeds the budget
    /// is trained in a micro-batch of its own, with a warning logged once per trainer. The old and reference log-prob passes
    /// (no gradient) still run over the whole batch. <see cref="GrpoStepRecord.UpdateTokensComputed"/> and
    /// <see cref="GrpoStepRecord.UpdatePaddingFraction"/> report what the passes computed.</para>
    /// </remarks>
    [Range(0, int.MaxValue, ErrorMessage = "{0} must be >= 0")]
    public int MicroBatchTokenBudget { get; set; }

    /// <summary>Gets or sets the precision the policy is trained in (<see cref="TrainingPrecision"/>).</summary>
    /// <value>The default is <see cref="TrainingPrecision.Float32"/>: the parameters are trained in their own dtype.</value>
    public TrainingPrecision Precision { get; set; } = TrainingPrecision.Float32;

    /// <summary>
    /// Gets or sets whether the LM head and the logits are computed in float32 (TRL's <c>cast_lm_head_to_fp32</c>): the hidden
    /// states and the head weight (and bias) are cast to float32 before the head, for the log-probs of the policy and its reference and for sampling.
    /// </summary>
    /// <value>The default is <see langword="false"/>: the head runs in the dtype of its weight (the log-softmax is float32 either way).
    /// Needs a <see cref="TorchPolicy"/>; a no-op for a float32 policy.</value>
    public bool LmHeadFloat32 { get; set; }

    /// <summary>Checks every setting, the rules that span settings, and the nested options.</summary>
    /// <exception cref="ArgumentException">One or more settings are invalid; the message lists all of them.</exception>
    public void Validate() => OptionsValidation.ThrowIfInvalid(this);

    /// <summary>Returns a deep copy of these options (nested options included).</summary>
    /// <returns>A new instance with the same settings.</returns>
    public GrpoTrainerOptions Clone()
    {
        var copy = (GrpoTrainerOptions)MemberwiseClone();
        copy.Sampling = Sampling?.Clone()!;
        copy.Loss = Loss?.Clone()!;
        copy.Advantages = Advantages?.Clone()!;
        return copy;
    }

    /// <summary>The rules that span settings or reach into the nested options (the ranges are the properties' attributes).</summary>
    /// <param name="validationContext">The validation context (unused).</param>
    /// <returns>The problems found.</returns>
    IEnumerable<ValidationResult> IValidatableObject.Validate(ValidationContext validationContext)
    {
        if (SchedulePer == LearningRateScheduleUnit.Step && WarmupSteps is int warmup && warmup > MaxSteps)
        {
            yield return new ValidationResult($"WarmupSteps must be <= MaxSteps ({MaxSteps}); got {warmup}.", [nameof(WarmupSteps)]);
        }

        if (SchedulePer == LearningRateScheduleUnit.OptimizerUpdate)
        {
            if (MaxScheduleUpdates is null)
            {
                yield return new ValidationResult(
                    "MaxScheduleUpdates is required when SchedulePer is OptimizerUpdate (the schedule's horizon in optimizer updates).", [nameof(MaxScheduleUpdates)]);
            }
            else if (WarmupSteps is int updates && updates > MaxScheduleUpdates)
            {
                yield return new ValidationResult(
                    $"WarmupSteps must be <= MaxScheduleUpdates ({MaxScheduleUpdates}) when SchedulePer is OptimizerUpdate; got {updates}.", [nameof(WarmupSteps)]);
            }
        }

        if (MiniBatchSize is int mini && MicroBatchSize is int micro && (micro > mini || mini % micro != 0))
        {
            yield return new ValidationResult(
                $"MicroBatchSize must divide MiniBatchSize; got MicroBatchSize = {micro}, MiniBatchSize = {mini}.", [nameof(MicroBatchSize)]);
        }

        if (RewardTimeout is TimeSpan timeout && timeout <= TimeSpan.Zero)
        {
            yield return new ValidationResult(Format($"RewardTimeout must be positive; got {timeout}."), [nameof(RewardTimeout)]);
        }

        if (CheckpointEverySteps is not null && string.IsNullOrWhiteSpace(CheckpointDirectory))
        {
            yield return new ValidationResult("CheckpointEverySteps needs CheckpointDirectory.", [nameof(CheckpointEverySteps)]);
        }

        if (Sampling is not null && Sampling.Temperature == 0)
        {
            yield return new ValidationResult(
                "Sampling.Temperature must be > 0 for training (0 is greedy decoding, which has no log-probs to train).", [nameof(Sampling)]);
        }

        if (Advantages?.GroupSize is int ag && ag != GroupSize)
        {
            yield return new ValidationResult($"Advantages.GroupSize ({ag}) must equal GroupSize ({GroupSize}) when set.", [nameof(Advantages)]);
        }

        if (Sampling is not null && OverlongBufferLength > Sampling.MaxNewTokens)
        {
            yield return new ValidationResult(
                $"OverlongBufferLength ({OverlongBufferLength}) must be <= Sampling.MaxNewTokens ({Sampling.MaxNewTokens}), the L_max the penalty counts back from.", [nameof(OverlongBufferLength)]);
        }

        if (!double.IsFinite(PassThreshold))
        {
            yield return new ValidationResult(Format($"PassThreshold must be finite; got {PassThreshold}."), [nameof(PassThreshold)]);
        }

        if (EvaluateEvery > 0 && (EvaluationPrompts is null || EvaluationPrompts.Count == 0))
        {
            yield return new ValidationResult($"EvaluateEvery ({EvaluateEvery}) needs EvaluationPrompts (at least one prompt).", [nameof(EvaluationPrompts)]);
        }

        for (int i = 0; i < (EvaluationPrompts?.Count ?? 0); i++)
        {
            if (EvaluationPrompts![i] is null)
            {
                yield return new ValidationResult($"EvaluationPrompts[{i}] is null.", [nameof(EvaluationPrompts)]);
                break;
            }
        }

        if (OverlapGeneration && ZeroSignalGroups == ZeroSignalGroupHandling.Resample)
        {
            yield return new ValidationResult(
                "OverlapGeneration cannot be combined with ZeroSignalGroups = Resample (a resampled group would come from other weights than the rest of its batch).",
                [nameof(OverlapGeneration)]);
        }

        if (MicroBatchTokenBudget > 0 && MicroBatchSize is int rows)
        {
            yield return new ValidationResult(
                $"MicroBatchTokenBudget ({MicroBatchTokenBudget}) and MicroBatchSize ({rows}) cannot both be set: the budget decides the micro-batches' rows.", [nameof(MicroBatchTokenBudget)]);
        }
    }

    private static string Format(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
