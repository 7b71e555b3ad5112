using System.ComponentModel.DataAnnotations;

namespace Vepa.Grpo;

/// <summary>Settings of <see cref="GroupAdvantages"/>. The defaults reproduce TRL's GRPO advantages (group std, ε = 1e-4).</summary>
/// <remarks>
/// <para>verl: <c>Epsilon = 1e-6</c>; OpenRLHF: <c>Epsilon = 1e-9</c>; Dr. GRPO: <see cref="AdvantageNormalization.MeanCentered"/>;
/// TRL <c>scale_rewards="batch"</c>: <see cref="AdvantageNormalization.BatchStd"/>.</para>
/// <para><see cref="GroupAdvantages"/> calls <see cref="Validate"/>, which reports every problem in one <see cref="ArgumentException"/>.
/// Instances are not thread-safe to mutate; one instance may be shared by concurrent calls that do not change it.</para>
/// </remarks>
public sealed class AdvantageOptions : IValidatableObject
{
    /// <summary>Gets or sets how rewards are normalised within their group.</summary>
    /// <value>The default is <see cref="AdvantageNormalization.GroupStd"/>.</value>
    public AdvantageNormalization Normalization { get; set; } = AdvantageNormalization.GroupStd;

    /// <summary>Gets or sets ε, added to the standard deviation before dividing (not used by the mean-centred and leave-one-out modes).</summary>
    /// <value>The default is 1e-4 (TRL). verl uses 1e-6, OpenRLHF 1e-9. Must be finite and ≥ 0.</value>
    [Range(0.0, double.MaxValue, ErrorMessage = "{0} must be finite and >= 0")]
    public double Epsilon { get; set; } = AdvantageConstants.DefaultEpsilon;

    /// <summary>Gets or sets G, the number of rollouts per prompt, for flat rewards [P·G] laid out group after group.</summary>
    /// <value>
    /// The default is <see langword="null"/>: required for flat rewards; for rewards shaped [P, G] it may be left unset, and when set it
    /// must equal G. Must be ≥ 2.
    /// </value>
    [Range(AdvantageConstants.MinGroupSize, int.MaxValue, ErrorMessage = "{0} must be >= 2")]
    public int? GroupSize { get; set; }

    /// <summary>Gets or sets how several weighted reward components are combined.</summary>
    /// <value>The default is <see cref="RewardCombination.SumThenNormalize"/>.</value>
    public RewardCombination Combination { get; set; } = RewardCombination.SumThenNormalize;

    /// <summary>Gets or sets which implementation runs; tests and benchmarks pin one.</summary>
    /// <value>The default is <see cref="AdvantageKernel.Auto"/>.</value>
    internal AdvantageKernel Kernel { get; set; } = AdvantageKernel.Auto;

    /// <summary>Gets or sets the number of rewards from which the managed kernel splits the groups over threads; tests and benchmarks pin it.</summary>
    /// <value>The default is <see langword="null"/>: <see cref="ManagedAdvantageKernel.DefaultParallelThreshold"/>.</value>
    internal int? ManagedParallelThreshold { get; set; }

    /// <summary>Checks every setting.</summary>
    /// <exception cref="ArgumentException">One or more settings are invalid; the message lists all of them.</exception>
    public void Validate() => OptionsValidation.ThrowIfInvalid(this);

    /// <summary>The rule no attribute states: the internal kernel choice holds a defined value.</summary>
    /// <param name="validationContext">The validation context (unused).</param>
    /// <returns>The problems found.</returns>
    IEnumerable<ValidationResult> IValidatableObject.Validate(ValidationContext validationContext)
    {
        if (!Enum.IsDefined(Kernel))
        {
            yield return new ValidationResult($"Kernel has an undefined value ({(int)Kernel}).", [nameof(Kernel)]);
        }
    }
}
