namespace Vepa.Grpo;

/// <summary>
/// One weighted reward of a <see cref="GrpoTrainer"/> built from several: a name for the step record and the logs, the
/// <see cref="IRewardModel"/> that scores every rollout, and its weight w_k in the combination chosen by
/// <see cref="AdvantageOptions.Combination"/>.
/// </summary>
/// <remarks>
/// <para>The trainer scores all components of a step at the same time, and a rollout is usable only when every component scored
/// it (docs/trainer.md, "Several rewards"). The combined reward of a rollout is Σ_k w_k r_k; with
/// <see cref="RewardCombination.NormalizeThenSum"/> (GDPO) each component is normalised within its group before the weighted sum.</para>
/// <para>The component does not own its model: the host disposes it. Immutable and thread-safe.</para>
/// </remarks>
public sealed record RewardComponent
{
    /// <summary>Initializes a new instance of the <see cref="RewardComponent"/> class.</summary>
    /// <param name="name">The component's name in the step record, the step log and the metrics; unique within a trainer.</param>
    /// <param name="model">Scores the rollouts; not owned.</param>
    /// <param name="weight">w_k; finite (0 and negative weights are allowed). The default is 1.</param>
    /// <exception cref="ArgumentException"><paramref name="name"/> is null, empty or white space, or <paramref name="weight"/> is not finite.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="model"/> is <see langword="null"/>.</exception>
    public RewardComponent(string name, IRewardModel model, double weight = 1.0)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(model);
        if (!double.IsFinite(weight))
        {
            throw new ArgumentException($"The weight of reward component '{name}' must be finite; got {weight}.", nameof(weight));
        }

        Name = name;
        Model = model;
        Weight = weight;
    }

    /// <summary>Gets the component's name.</summary>
    public string Name { get; }

    /// <summary>Gets the reward model that scores the component.</summary>
    public IRewardModel Model { get; }

    /// <summary>Gets w_k, the component's weight.</summary>
    /// <value>The default is 1.</value>
    public double Weight { get; }
}
