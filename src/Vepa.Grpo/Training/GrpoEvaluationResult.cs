namespace Vepa.Grpo;

/// <summary>
/// What <see cref="GrpoTrainer.EvaluateAsync"/> measured: n samples per prompt from the current policy, scored by the trainer's
/// reward components, with the mean reward and pass@k.
/// </summary>
/// <remarks>
/// <para>pass@k is the unbiased estimator of Chen et al. 2021 (the Codex paper): per prompt with n scored samples of which c pass,
/// 1 − C(n − c, k) / C(n, k), computed as a product so that no binomial coefficient is formed; averaged over the prompts with at
/// least k scored samples (a sample whose reward failed is left out of n). A sample passes when its reward is ≥
/// <see cref="PassThreshold"/>.</para>
/// <para>The rewards are the weighted sums of the trainer's own reward components, without the overlong penalty (a training
/// shaping term, reported apart in <see cref="ComponentRewardMeans"/>).</para>
/// </remarks>
public sealed record GrpoEvaluationResult
{
    /// <summary>Gets the completed training steps when the evaluation ran.</summary>
    public required int Step { get; init; }

    /// <summary>Gets the prompts evaluated.</summary>
    public required int PromptCount { get; init; }

    /// <summary>Gets n, the samples per prompt.</summary>
    public required int SamplesPerPrompt { get; init; }

    /// <summary>Gets the threshold a sample's reward must reach to pass.</summary>
    public required double PassThreshold { get; init; }

    /// <summary>Gets the mean reward over the scored samples (NaN when none scored).</summary>
    public required double RewardMean { get; init; }

    /// <summary>Gets pass@1: the fraction of passing samples, averaged per prompt (NaN when none scored).</summary>
    public required double PassAt1 { get; init; }

    /// <summary>Gets pass@k for k = 1, 2, 4, … up to n, and n itself (NaN for a k that no prompt has k scored samples for).</summary>
    public required IReadOnlyDictionary<int, double> PassAtK { get; init; }

    /// <summary>Gets the mean reward of each component over the samples it scored, by component name, unweighted ("overlong" included when on).</summary>
    public required IReadOnlyDictionary<string, double> ComponentRewardMeans { get; init; }

    /// <summary>Gets the samples whose reward failed (any component): left out of every figure.</summary>
    public required int FailedRewardCount { get; init; }

    /// <summary>Gets the reward of every sample, prompt after prompt (n per prompt; NaN where it failed).</summary>
    public required IReadOnlyList<double> Rewards { get; init; }

    /// <summary>Gets how long the evaluation took (sampling and scoring).</summary>
    public required TimeSpan Duration { get; init; }
}
