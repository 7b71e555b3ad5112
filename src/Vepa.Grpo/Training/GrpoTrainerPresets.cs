namespace Vepa.Grpo;

/// <summary>
/// <see cref="GrpoTrainerOptions"/> set to the defaults of the Python trainers, for a run that should behave like one started
/// there with its defaults. Each call returns a new instance the caller may change. docs/migrating.md lists every TRL and verl
/// field with its Vepa option and both defaults.
/// </summary>
/// <remarks>
/// <para>A preset sets every option Vepa has an equivalent for; options with none (checkpoint and log paths, timeouts) keep
/// Vepa's defaults. <see cref="GrpoTrainerOptions.MaxSteps"/> stays 220: TRL and verl derive the run's length from epochs over
/// the data set, so set it to yours (it is also the horizon of a decaying schedule).</para>
/// <para>The learning-rate schedule advances per GRPO step (<see cref="LearningRateScheduleUnit.Step"/>). TRL advances per optimizer
/// update; with its defaults (<c>num_iterations=1</c>, <c>steps_per_generation</c> = <c>gradient_accumulation_steps</c> = 1) a
/// generation batch is one update, so the two agree. When you raise <see cref="GrpoTrainerOptions.Iterations"/> or set
/// <see cref="GrpoTrainerOptions.MiniBatchSize"/>, set <see cref="GrpoTrainerOptions.SchedulePer"/> to
/// <see cref="LearningRateScheduleUnit.OptimizerUpdate"/> and <see cref="GrpoTrainerOptions.MaxScheduleUpdates"/> to keep TRL's unit.</para>
/// </remarks>
public static class GrpoTrainerPresets
{
    /// <summary>TRL's <c>GRPOConfig()</c> defaults: G = 8, temperature 1, top-p 1, no top-k, 512 completion tokens; group-std advantages
    /// with ε = 1e-4; <c>loss_type="dapo"</c> (token mean over the minibatch), ε 0.2 / 0.2, β = 0, token-level ratio, and the sampler
    /// correction TRL applies to vLLM rollouts (<c>vllm_importance_sampling_mode="sequence_mask"</c>, cap 3); AdamW at 1e-6 with a
    /// linear decay and no warm-up, β₁ 0.9, β₂ 0.999, ε 1e-8, no weight decay, gradients clipped to norm 1; μ = 1; seed 42.</summary>
    /// <returns>A new options instance.</returns>
    /// <remarks>
    /// <para>The sampler correction needs a sampler that reports its log-probs (<see cref="RolloutBatch.SamplerLogProbs"/>;
    /// <see cref="TorchPolicy"/>'s own sampler does, and there the weights are 1). TRL applies it only with <c>use_vllm=True</c>:
    /// with a sampler that reports none, set <see cref="PolicyLossOptions.SamplerCorrection"/> to <see cref="SamplerCorrectionMode.None"/>.</para>
    /// <para>TRL trains in bf16 by default; this preset leaves the precision to the policy.</para>
    /// </remarks>
    public static GrpoTrainerOptions Trl()
    {
        // loss_type="dapo" is DAPO's token mean; TRL's epsilon_high defaults to epsilon, not to DAPO's 0.28.
        PolicyLossOptions loss = PolicyLossPresets.Dapo();
        loss.EpsilonHigh = loss.EpsilonLow;
        loss.SamplerCorrection = SamplerCorrectionMode.Mask;
        loss.SamplerCorrectionPerSequence = true;
        loss.SamplerCorrectionMin = 0;    // vllm_importance_sampling_clip_min=None: no lower bound (the weights are ≥ 0)
        loss.SamplerCorrectionMax = 3;

        return new GrpoTrainerOptions
        {
            GroupSize = 8,
            Sampling = new SamplingOptions { Temperature = 1.0, TopP = 1.0, TopK = null, MaxNewTokens = 512 },
            Advantages = new AdvantageOptions
            {
                Normalization = AdvantageNormalization.GroupStd,
                Epsilon = 1e-4,
                Combination = RewardCombination.SumThenNormalize,
            },
            Loss = loss,
            LearningRate = 1e-6,
            Schedule = LearningRateSchedule.Linear,
            WarmupRatio = 0,
            MinLearningRateRatio = 0,
            AdamBeta1 = 0.9,
            AdamBeta2 = 0.999,
            AdamEpsilon = 1e-8,
            WeightDecay = 0,
            MaxGradNorm = 1.0,
            Iterations = 1,
            ShuffleMiniBatches = true,
            MaskTruncatedCompletions = false,
            ZeroSignalGroups = ZeroSignalGroupHandling.Keep,
            ReferenceSyncSteps = null,
            ReferenceSyncMixAlpha = 0.6,
            Seed = 42,
            ComputeEntropy = true,
            KeepCheckpoints = null,
        };
    }

    /// <summary>verl's <c>ppo_trainer.yaml</c> defaults with the settings its GRPO guide asks for (<c>algorithm.adv_estimator=grpo</c>,
    /// <c>actor.use_kl_loss=True</c>, <c>rollout.n=5</c> as in its GRPO examples): temperature 1, top-p 1, no top-k, 512 response
    /// tokens; group-std advantages with ε = 1e-6; <see cref="PolicyLossPresets.VerlGrpo"/> (ε 0.2 / 0.2, dual clip 3, β = 0.001 with
    /// the clamped k3, token mean) with the ±20 log-ratio clamp of verl's policy loss; AdamW at 1e-6, constant, no warm-up, weight
    /// decay 0.01, gradients clipped to norm 1; one epoch, no minibatch shuffle; seed 42.</summary>
    /// <returns>A new options instance.</returns>
    /// <remarks>verl's <c>ppo_mini_batch_size</c> (256 prompts of <c>train_batch_size</c> 1024) depends on the batch you feed: set
    /// <see cref="GrpoTrainerOptions.MiniBatchSize"/> to 256 × G rows for verl's four updates per step.</remarks>
    public static GrpoTrainerOptions VerlGrpo()
    {
        PolicyLossOptions loss = PolicyLossPresets.VerlGrpo();
        loss.LogRatioClamp = 20;

        return new GrpoTrainerOptions
        {
            GroupSize = 5,
            Sampling = new SamplingOptions { Temperature = 1.0, TopP = 1.0, TopK = null, MaxNewTokens = 512 },
            Advantages = new AdvantageOptions
            {
                Normalization = AdvantageNormalization.GroupStd,
                Epsilon = 1e-6,
                Combination = RewardCombination.SumThenNormalize,
            },
            Loss = loss,
            LearningRate = 1e-6,
            Schedule = LearningRateSchedule.Constant,
            WarmupRatio = 0,
            MinLearningRateRatio = 0,
            AdamBeta1 = 0.9,
            AdamBeta2 = 0.999,
            AdamEpsilon = 1e-8,
            WeightDecay = 0.01,
            MaxGradNorm = 1.0,
            Iterations = 1,
            ShuffleMiniBatches = false,
            MaskTruncatedCompletions = false,
            ZeroSignalGroups = ZeroSignalGroupHandling.Keep,
            ReferenceSyncSteps = null,
            Seed = 42,
            ComputeEntropy = false,
            KeepCheckpoints = null,
        };
    }
}
