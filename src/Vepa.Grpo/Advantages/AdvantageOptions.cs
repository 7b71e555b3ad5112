using System.ComponentModel.DataAnnotations;
using System.Diagnostics.CodeAnalysis;
using System.Text.Json.Serialization;
using Vepa.Grpo.Kernels;

namespace Vepa.Grpo;

/// <summary>Settings of <see cref="GroupAdvantages"/>. The defaults reproduce TRL's GRPO advantages (group std, ε = 1e-4).</summary>
/// <remarks>
/// <para>verl: <c>Epsilon = 1e-6</c>; OpenRLHF: <c>Epsilon = 1e-9</c>; Dr. GRPO: <see cref="AdvantageNormalization.MeanCentered"/>;
/// TRL <c>scale_rewards="batch"</c>: <see cref="AdvantageNormalization.BatchStd"/>.</para>
/// <para><see cref="GroupAdvantages"/> calls <see cref="Validate"/>, which reports every problem in one <see cref="ArgumentException"/>,
/// once per distinct set of values (an unchanged options object is not validated again).
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

    /// <summary>Gets or sets the number of rewards from which the managed kernel splits the groups over threads; tests and benchmarks pin it.</summary>
    /// <value>The default is <see langword="null"/>: <see cref="ManagedAdvantageKernel.DefaultParallelThreshold"/>.</value>
    internal int? ManagedParallelThreshold { get; set; }

    /// <summary>Checks every setting.</summary>
    /// <exception cref="ArgumentException">One or more settings are invalid; the message lists all of them.</exception>
    public void Validate() => OptionsValidation.ThrowIfInvalid(this);

    /// <summary>The rule no attribute states: <see cref="Kernel"/> names a registered advantage kernel.</summary>
    /// <param name="validationContext">The validation context (unused).</param>
    /// <returns>The problems found.</returns>
    IEnumerable<ValidationResult> IValidatableObject.Validate(ValidationContext validationContext)
    {
        if (FindKernel(this) is null)
        {
            yield return new ValidationResult(
                KernelChoice.Unknown("advantage", Kernel, Kernels, (Kernels ?? KernelRegistry.Default).AdvantageKernels.Select(k => k.Name)),
                [nameof(Kernel)]);
        }
    }

    /// <summary>Gets or sets the name of the registered advantage kernel that <see cref="GroupAdvantages.Compute(TorchSharp.torch.Tensor, AdvantageOptions?)"/>
    /// runs (looked up in <see cref="Kernels"/>, ordinal and case-insensitive): Vepa's "tensor", "managed" or "cuda", or one you
    /// registered. <see langword="null"/> or "auto" chooses automatically: the managed CPU kernel for contiguous CPU
    /// float32/float64 rewards, otherwise the tensor kernel (the CUDA kernel for CUDA rewards with <c>VEPA_CUDA_KERNELS=1</c>).</summary>
    /// <value>The default is <see langword="null"/> (the automatic choice). Must name a registered advantage kernel.</value>
    /// <remarks>
    /// <para>A kernel chosen by name that cannot run the rewards fails the call with the reason; it never falls back silently
    /// (Vepa's "cuda" kernel is the exception its contract states: without CUDA it runs the tensor kernel, logged once).</para>
    /// <para>A kernel of your own gets the combined reward of each rollout as one [P, G] tensor (float64, NaN where any component
    /// is NaN; the rewards themselves, reshaped, for a single reward) and returns the advantages [P, G]; the zero-signal
    /// statistics are computed from the rewards. <see cref="RewardCombination.NormalizeThenSum"/> over several components needs
    /// one of Vepa's kernels.</para>
    /// </remarks>
    public string? Kernel { get; set; }

    /// <summary>Gets or sets the registry <see cref="Kernel"/> is looked up in; <see langword="null"/> uses Vepa's kernels
    /// (<see cref="KernelRegistry.CreateDefault"/>). Register your own kernel in a registry and set it here to train with it.</summary>
    /// <value>The default is <see langword="null"/>. Not bound from configuration and not saved in checkpoints; copies share it.</value>
    [JsonIgnore]
    [Experimental(KernelContracts.ExperimentalDiagnosticId)]
    public KernelRegistry? Kernels { get; set; }

    /// <summary>Returns a copy of these options (the registry is shared).</summary>
    internal AdvantageOptions Clone() => (AdvantageOptions)MemberwiseClone();

    /// <summary>Validates these options (once per distinct set of values) and returns the kernel <see cref="Kernel"/> names.</summary>
    /// <exception cref="ArgumentException">One or more settings are invalid; the message lists all of them.</exception>
    internal IAdvantageKernel ValidatedKernel() => KernelChoice.Validated(this, ref _validated, CopySettings, FindKernel);

    private static AdvantageOptions CopySettings(AdvantageOptions options)
    {
        AdvantageOptions copy = options.Clone();
        copy._validated = null;
        return copy;
    }

    private static IAdvantageKernel? FindKernel(AdvantageOptions options)
        => KernelChoice.Find(options.Kernel, options.Kernels, static (registry, name) => registry.FindAdvantageKernel(name), BuiltInAdvantageKernel.Auto);

    // The settings last validated (a private copy) and the kernel they name.
    private KernelChoice.Validation<AdvantageOptions, IAdvantageKernel>? _validated;
}
