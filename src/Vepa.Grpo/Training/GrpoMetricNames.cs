namespace Vepa.Grpo;

/// <summary>Names of the meter and instruments the <see cref="GrpoTrainer"/> publishes through <c>System.Diagnostics.Metrics</c>.</summary>
/// <remarks>Subscribe with <c>MeterListener</c>, OpenTelemetry (<c>AddMeter(GrpoMetricNames.MeterName)</c>) or <c>dotnet-counters</c>. Histograms get one measurement per step.</remarks>
public static class GrpoMetricNames
{
    /// <summary>The name of the meter: <c>Vepa.Grpo</c>.</summary>
    public const string MeterName = "Vepa.Grpo";

    /// <summary>Counter of completed steps. Unit <c>{step}</c>.</summary>
    public const string Steps = "vepa.grpo.steps";

    /// <summary>Counter of rollouts sampled. Unit <c>{rollout}</c>.</summary>
    public const string Rollouts = "vepa.grpo.rollouts";

    /// <summary>Counter of rollouts whose reward failed. Unit <c>{rollout}</c>.</summary>
    public const string FailedRewards = "vepa.grpo.rewards.failed";

    /// <summary>Counter of rollouts scored with the reward's penalty because their evidence made the reward fail. Unit <c>{rollout}</c>.</summary>
    public const string PenalizedRewards = "vepa.grpo.rewards.penalized";

    /// <summary>Counter of completion tokens trained on. Unit <c>{token}</c>.</summary>
    public const string Tokens = "vepa.grpo.tokens";

    /// <summary>Histogram of the step's mean reward.</summary>
    public const string Reward = "vepa.grpo.reward";

    /// <summary>Histogram of the step's mean loss.</summary>
    public const string Loss = "vepa.grpo.loss";

    /// <summary>Histogram of the step's token-mean KL.</summary>
    public const string Kl = "vepa.grpo.kl";

    /// <summary>Histogram of the step's gradient norm.</summary>
    public const string GradNorm = "vepa.grpo.grad_norm";

    /// <summary>Histogram of the step's fraction of zero-signal groups.</summary>
    public const string ZeroSignalFraction = "vepa.grpo.zero_signal_fraction";

    /// <summary>Histogram of the step's mean completion length. Unit <c>{token}</c>.</summary>
    public const string CompletionLength = "vepa.grpo.completion_length";

    /// <summary>Histogram of the duration of each phase of a step, in seconds, tagged with <see cref="PhaseTag"/>. Unit <c>s</c>.</summary>
    public const string PhaseDuration = "vepa.grpo.phase.duration";

    /// <summary>Histogram of the step's entropy bonus, c · agg(H) (<see cref="GrpoStepRecord.EntropyBonus"/>); recorded for steps where it is non-zero.</summary>
    public const string EntropyBonus = "vepa.grpo.entropy_bonus";

    /// <summary>Histogram of the step's fraction of tokens whose policy term the top-entropy mask dropped (<see cref="GrpoStepRecord.EntropyMaskedFraction"/>); recorded for steps where it is non-zero.</summary>
    public const string EntropyMaskedFraction = "vepa.grpo.entropy_masked_fraction";

    /// <summary>Tag on <see cref="PhaseDuration"/>: <c>generation</c>, <c>reward</c>, <c>log_probs</c>, <c>update</c> or <c>total</c>.</summary>
    public const string PhaseTag = "vepa.grpo.phase";

    /// <summary>Histogram of the step's mean reward of one reward component, tagged with <see cref="ComponentTag"/>.</summary>
    public const string ComponentReward = "vepa.grpo.reward.component";

    /// <summary>Counter of rollouts one reward component failed to score, tagged with <see cref="ComponentTag"/>. Unit <c>{rollout}</c>.</summary>
    public const string ComponentFailedRewards = "vepa.grpo.rewards.component.failed";

    /// <summary>Tag on <see cref="ComponentReward"/> and <see cref="ComponentFailedRewards"/>: the component's name ("reward" for a single reward model, "overlong" for the overlong penalty).</summary>
    public const string ComponentTag = "vepa.grpo.reward.component.name";

    /// <summary>Histogram of the mean reward of each evaluation (<see cref="GrpoTrainerOptions.EvaluateEvery"/>).</summary>
    public const string EvaluationReward = "vepa.grpo.eval.reward";

    /// <summary>Histogram of the pass@k of each evaluation, tagged with <see cref="KTag"/>.</summary>
    public const string EvaluationPassAtK = "vepa.grpo.eval.pass_at_k";

    /// <summary>Tag on <see cref="EvaluationPassAtK"/>: k.</summary>
    public const string KTag = "vepa.grpo.eval.k";
}
