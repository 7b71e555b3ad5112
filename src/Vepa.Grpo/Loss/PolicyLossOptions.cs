using System.ComponentModel.DataAnnotations;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text.Json.Serialization;
using Vepa.Grpo.Kernels;

namespace Vepa.Grpo;

/// <summary>Settings of the GRPO policy loss. Defaults follow VEPA: token-level clip with ε = 0.2, sequence-mean of token-mean.</summary>
/// <remarks>
/// Every named variant of TRL and verl is a combination of these settings; see docs/kernels.md.
/// Call <see cref="Validate"/> (the loss does) to get one <see cref="ArgumentException"/> that lists every problem.
/// </remarks>
public sealed class PolicyLossOptions : IValidatableObject
{
    /// <summary>Gets or sets the per-token objective.</summary>
    /// <value>The default is <see cref="PolicyObjective.Clip"/>.</value>
    public PolicyObjective Objective { get; set; } = PolicyObjective.Clip;

    /// <summary>Gets or sets where the importance ratio is formed.</summary>
    /// <value>The default is <see cref="RatioLevel.Token"/>.</value>
    public RatioLevel RatioLevel { get; set; } = RatioLevel.Token;

    /// <summary>Gets or sets the lower clip range: ratios below 1 − ε_low are clipped.</summary>
    /// <value>The default is 0.2. Must be in [0, 1).</value>
    [Range(0.0, 1.0, MaximumIsExclusive = true, ErrorMessage = "{0} must be in [0, 1)")]
    public double EpsilonLow { get; set; } = 0.2;

    /// <summary>Gets or sets the upper clip range: ratios above 1 + ε_high are clipped (for CISPO: the absolute cap on ρ).</summary>
    /// <value>The default is 0.2. Must be ≥ 0; ε_high &gt; ε_low is DAPO's "clip-higher".</value>
    [Range(0.0, double.MaxValue, ErrorMessage = "{0} must be finite and >= 0")]
    public double EpsilonHigh { get; set; } = 0.2;

    /// <summary>Gets or sets TRL's δ: the unclipped branch uses min(ρ, δ). <see langword="null"/> disables it.</summary>
    /// <value>The default is <see langword="null"/>. When set, must be &gt; 1 + ε_high; Clip objective only.</value>
    public double? Delta { get; set; }

    /// <summary>Gets or sets verl's dual-clip constant c: for A &lt; 0 the loss is min(l, −A·c). <see langword="null"/> disables it.</summary>
    /// <value>The default is <see langword="null"/>. verl uses 3. When set, must be &gt; 1; Clip objective only.</value>
    [Range(1.0, double.PositiveInfinity, MinimumIsExclusive = true, ErrorMessage = "{0} must be > 1")]
    public double? DualClip { get; set; }

    /// <summary>Gets or sets a clamp on the per-token log π − log π_old before exponentiation (and, at sequence level, before averaging); verl and OpenRLHF use 20. <see langword="null"/> disables it (TRL).</summary>
    /// <value>The default is <see langword="null"/>. When set, must be &gt; 0.</value>
    [Range(0.0, double.PositiveInfinity, MinimumIsExclusive = true, ErrorMessage = "{0} must be > 0")]
    public double? LogRatioClamp { get; set; }

    /// <summary>Gets or sets β, the weight of the KL penalty. With β = 0 no reference log-probs are needed.</summary>
    /// <value>The default is 0. VEPA uses 0.01 with <see cref="KlEstimator.K3"/>.</value>
    [Range(0.0, double.MaxValue, ErrorMessage = "{0} must be finite and >= 0")]
    public double Beta { get; set; }

    /// <summary>Gets or sets the KL estimator.</summary>
    /// <value>The default is <see cref="KlEstimator.K3"/>.</value>
    public KlEstimator KlEstimator { get; set; } = KlEstimator.K3;

    /// <summary>Gets or sets verl's clamp on log π_ref − log π before the KL estimator (verl: 20; applied to every estimator here). <see langword="null"/> disables it.</summary>
    /// <value>The default is <see langword="null"/>.</value>
    [Range(0.0, double.PositiveInfinity, MinimumIsExclusive = true, ErrorMessage = "{0} must be > 0")]
    public double? KlLogRatioClamp { get; set; }

    /// <summary>Gets or sets verl's clamp on the KL value, to [−v, v] (verl: 10). <see langword="null"/> disables it.</summary>
    /// <value>The default is <see langword="null"/>.</value>
    [Range(0.0, double.PositiveInfinity, MinimumIsExclusive = true, ErrorMessage = "{0} must be > 0")]
    public double? KlValueClamp { get; set; }

    /// <summary>Gets or sets how per-token losses are reduced.</summary>
    /// <value>The default is <see cref="LossAggregation.SequenceMeanTokenMean"/> (VEPA Eq. 8).</value>
    public LossAggregation Aggregation { get; set; } = LossAggregation.SequenceMeanTokenMean;

    /// <summary>Gets or sets L_max for <see cref="LossAggregation.ConstantNormalizer"/>; <see langword="null"/> uses the tensor's T. (1 gives verl's "seq-mean-token-sum".)</summary>
    /// <value>The default is <see langword="null"/>.</value>
    [Range(1, int.MaxValue, ErrorMessage = "{0} must be >= 1")]
    public int? MaxCompletionLength { get; set; }

    /// <summary>Gets or sets how sampler-correction weights are applied.</summary>
    /// <value>The default is <see cref="SamplerCorrectionMode.None"/>.</value>
    public SamplerCorrectionMode SamplerCorrection { get; set; } = SamplerCorrectionMode.None;

    /// <summary>Gets or sets whether sampler-correction weights are formed per sequence, w[b] = exp(Σ_t M·(log π_old − log π_sampler)), instead of per token.</summary>
    /// <value>The default is <see langword="false"/> (per token).</value>
    public bool SamplerCorrectionPerSequence { get; set; }

    /// <summary>Gets or sets the lower bound of the sampler-correction weights.</summary>
    /// <value>The default is 0.</value>
    public double SamplerCorrectionMin { get; set; }

    /// <summary>Gets or sets the upper bound of the sampler-correction weights.</summary>
    /// <value>The default is 3.</value>
    public double SamplerCorrectionMax { get; set; } = 3.0;

    /// <summary>Gets or sets the name of the registered policy-loss kernel that <see cref="PolicyLoss.Compute"/> runs (looked up in
    /// <see cref="Kernels"/>, ordinal and case-insensitive): Vepa's "fused-tensor", "managed" or "cuda", or one you registered.
    /// <see langword="null"/> or "auto" chooses automatically: the managed CPU kernel when the inputs allow it (contiguous CPU
    /// float32/float64), otherwise the fused tensor kernel (the CUDA kernel for CUDA tensors with <c>VEPA_CUDA_KERNELS=1</c>).</summary>
    /// <value>The default is <see langword="null"/> (the automatic choice). Must name a registered policy-loss kernel.</value>
    /// <remarks>A kernel chosen by name that cannot run the inputs (its <see cref="IPolicyLossKernel.Supports"/> says why)
    /// fails the call with that reason; it never falls back silently (Vepa's "cuda" kernel is the exception its contract states:
    /// without a CUDA device or NVRTC it runs the fused tensor kernel, logged once).</remarks>
    public string? Kernel { get; set; }

    /// <summary>Gets or sets the registry <see cref="Kernel"/> is looked up in; <see langword="null"/> uses Vepa's kernels
    /// (<see cref="KernelRegistry.CreateDefault"/>). Register your own kernel in a registry and set it here to train with it.</summary>
    /// <value>The default is <see langword="null"/>. Not bound from configuration and not saved in checkpoints; copies share it.</value>
    [JsonIgnore]
    [Experimental(KernelContracts.ExperimentalDiagnosticId)]
    public KernelRegistry? Kernels { get; set; }

    /// <summary>Gets or sets verl's <c>actor.entropy_coeff</c>: the loss becomes policy loss − c · agg(H), where H is
    /// <see cref="PolicyLossInputs.Entropy"/> and agg is <see cref="Aggregation"/> over the valid tokens (the same reduction
    /// as the policy loss). The gradient flows into <see cref="PolicyLossInputs.Entropy"/>.</summary>
    /// <value>The default is 0 (off; no entropy needed). Must be finite and ≥ 0.</value>
    [Range(0.0, double.MaxValue, ErrorMessage = "{0} must be finite and >= 0")]
    public double EntropyCoefficient { get; set; }

    /// <summary>Gets or sets TRL's <c>top_entropy_quantile</c> ρ ("Beyond the 80/20 rule"): the policy term is kept only on
    /// valid tokens whose entropy is ≥ the (1 − ρ) quantile (<c>torch.quantile</c>, linear interpolation) of the entropies of
    /// all valid tokens of the call; the KL term and the aggregation's denominators are unaffected. Needs
    /// <see cref="PolicyLossInputs.Entropy"/>, which is used detached here.</summary>
    /// <value>The default is 1 (keep every token). Must be in [0, 1]; 0 keeps only the highest-entropy token(s).</value>
    [Range(0.0, 1.0, ErrorMessage = "{0} must be in [0, 1]")]
    public double TopEntropyQuantile { get; set; } = 1.0;

    /// <summary>Checks every setting and the rules that span settings.</summary>
    /// <exception cref="ArgumentException">One or more settings are invalid; the message lists all of them.</exception>
    public void Validate() => OptionsValidation.ThrowIfInvalid(this);

    /// <summary>The rules that span settings (the ranges are the properties' attributes).</summary>
    /// <param name="validationContext">The validation context (unused).</param>
    /// <returns>The problems found.</returns>
    IEnumerable<ValidationResult> IValidatableObject.Validate(ValidationContext validationContext)
    {
        if (Objective == PolicyObjective.Cispo && !(EpsilonHigh > 0))
        {
            yield return new ValidationResult(Invariant($"EpsilonHigh is CISPO's absolute cap on the ratio and must be > 0; got {EpsilonHigh}."), [nameof(EpsilonHigh)]);
        }

        if (Objective == PolicyObjective.Cispo && (Delta is not null || DualClip is not null))
        {
            yield return new ValidationResult(
                Invariant($"Delta and DualClip apply to the Clip objective only; got Objective = Cispo with Delta = {Delta?.ToString(CultureInfo.InvariantCulture) ?? "null"}, DualClip = {DualClip?.ToString(CultureInfo.InvariantCulture) ?? "null"}."),
                [nameof(Delta), nameof(DualClip)]);
        }

        if (Delta is double delta && !(delta > 1 + EpsilonHigh))
        {
            yield return new ValidationResult(Invariant($"Delta must be > 1 + EpsilonHigh ({1 + EpsilonHigh}); got {delta}."), [nameof(Delta)]);
        }

        if (SamplerCorrection != SamplerCorrectionMode.None
            && !(SamplerCorrectionMin >= 0 && SamplerCorrectionMax > SamplerCorrectionMin && !double.IsPositiveInfinity(SamplerCorrectionMax)))
        {
            yield return new ValidationResult(
                Invariant($"SamplerCorrectionMin and SamplerCorrectionMax must satisfy 0 <= SamplerCorrectionMin < SamplerCorrectionMax < infinity; got [{SamplerCorrectionMin}, {SamplerCorrectionMax}]."),
                [nameof(SamplerCorrectionMin), nameof(SamplerCorrectionMax)]);
        }

        if (FindKernel(this) is null)
        {
            yield return new ValidationResult(
                KernelChoice.Unknown("policy-loss", Kernel, Kernels, (Kernels ?? KernelRegistry.Default).PolicyLossKernels.Select(k => k.Name)),
                [nameof(Kernel)]);
        }
    }

    private static string Invariant(FormattableString message) => FormattableString.Invariant(message);

    /// <summary>Returns a copy of these options.</summary>
    /// <returns>A new instance with the same settings.</returns>
    public PolicyLossOptions Clone() => (PolicyLossOptions)MemberwiseClone();

    /// <summary>Validates these options (once per distinct set of values) and returns the kernel <see cref="Kernel"/> names.</summary>
    /// <exception cref="ArgumentException">One or more settings are invalid; the message lists all of them.</exception>
    /// <remarks>Validation reads every attribute and rule through reflection (microseconds); the loss runs it once per change
    /// of settings instead of on every call. Racing callers at worst validate twice.</remarks>
    internal IPolicyLossKernel ValidatedKernel() => KernelChoice.Validated(this, ref _validated, CopySettings, FindKernel);

    private static PolicyLossOptions CopySettings(PolicyLossOptions options)
    {
        PolicyLossOptions copy = options.Clone();
        copy._validated = null;
        return copy;
    }

    private static IPolicyLossKernel? FindKernel(PolicyLossOptions options)
        => KernelChoice.Find(options.Kernel, options.Kernels, static (registry, name) => registry.FindPolicyLossKernel(name), BuiltInPolicyLossKernel.Auto);

    // The settings last validated (a private copy) and the kernel they name. A clone starts with the same pair, and its own
    // values are still compared against it.
    private KernelChoice.Validation<PolicyLossOptions, IPolicyLossKernel>? _validated;
}
