using TorchSharp;

namespace Vepa.Grpo;

/// <summary>The options of one managed-kernel call, resolved to flags and numbers (float64; the kernel rounds them to its dtype
/// the way a tensor op rounds a Python scalar).</summary>
internal sealed class ManagedLossPlan
{
    private ManagedLossPlan()
    {
    }

    /// <summary>Gets the number of rows B.</summary>
    public int Rows { get; private init; }

    /// <summary>Gets the number of tokens per row T.</summary>
    public int Columns { get; private init; }

    /// <summary>Gets a value indicating whether the objective is CISPO (otherwise the PPO clip).</summary>
    public bool Cispo { get; private init; }

    /// <summary>Gets a value indicating whether the ratio is formed per sequence (GSPO).</summary>
    public bool SequenceRatio { get; private init; }

    /// <summary>Gets 1 − ε_low.</summary>
    public double ClipLow { get; private init; }

    /// <summary>Gets 1 + ε_high (for CISPO: the cap ε_high).</summary>
    public double ClipHigh { get; private init; }

    /// <summary>Gets TRL's δ, or <see langword="null"/>.</summary>
    public double? Delta { get; private init; }

    /// <summary>Gets verl's dual-clip constant, or <see langword="null"/>.</summary>
    public double? DualClip { get; private init; }

    /// <summary>Gets the clamp on log π − log π_old, or <see langword="null"/>.</summary>
    public double? LogRatioClamp { get; private init; }

    /// <summary>Gets a value indicating whether the KL penalty is on (β &gt; 0).</summary>
    public bool UseKl { get; private init; }

    /// <summary>Gets β.</summary>
    public double Beta { get; private init; }

    /// <summary>Gets the KL estimator.</summary>
    public KlEstimator KlEstimator { get; private init; }

    /// <summary>Gets the clamp on log π_ref − log π, or <see langword="null"/>.</summary>
    public double? KlLogRatioClamp { get; private init; }

    /// <summary>Gets the clamp on the KL value, or <see langword="null"/>.</summary>
    public double? KlValueClamp { get; private init; }

    /// <summary>Gets the sampler-correction mode.</summary>
    public SamplerCorrectionMode Sampler { get; private init; }

    /// <summary>Gets a value indicating whether sampler weights are formed per sequence.</summary>
    public bool SamplerPerSequence { get; private init; }

    /// <summary>Gets the lower sampler-weight bound.</summary>
    public double SamplerMin { get; private init; }

    /// <summary>Gets the upper sampler-weight bound.</summary>
    public double SamplerMax { get; private init; }

    /// <summary>Gets the aggregation.</summary>
    public LossAggregation Aggregation { get; private init; }

    /// <summary>Gets L_max for the constant normaliser.</summary>
    public int MaxLength { get; private init; }

    /// <summary>Gets a value indicating whether the old log-probs are absent (on-policy: π_old = stopgrad(π_θ)).</summary>
    public bool OnPolicy { get; private init; }

    /// <summary>Gets a value indicating whether advantages are given per token ([B, T]) rather than per sequence ([B]).</summary>
    public bool PerTokenAdvantages { get; private init; }

    /// <summary>Gets a value indicating whether the mask is bool/uint8 (otherwise it has the log-probs' dtype).</summary>
    public bool ByteMask { get; private init; }

    /// <summary>Gets a value indicating whether the kernel writes dLoss/dLogProbs.</summary>
    public bool NeedGradient { get; private init; }

    /// <summary>Resolves the options for these (already validated) inputs.</summary>
    /// <param name="inputs">The inputs.</param>
    /// <param name="options">The options.</param>
    /// <param name="needGradient">Whether the gradient is needed.</param>
    /// <returns>The plan.</returns>
    public static ManagedLossPlan Create(PolicyLossInputs inputs, PolicyLossOptions options, bool needGradient)
    {
        var shape = inputs.LogProbs.shape;
        int rows = checked((int)shape[0]);
        int columns = checked((int)shape[1]);
        bool cispo = options.Objective == PolicyObjective.Cispo;
        return new ManagedLossPlan
        {
            Rows = rows,
            Columns = columns,
            Cispo = cispo,
            SequenceRatio = options.RatioLevel == RatioLevel.Sequence,
            ClipLow = 1 - options.EpsilonLow,
            ClipHigh = cispo ? options.EpsilonHigh : 1 + options.EpsilonHigh,
            Delta = cispo ? null : options.Delta,
            DualClip = cispo ? null : options.DualClip,
            LogRatioClamp = options.LogRatioClamp,
            UseKl = options.Beta > 0,
            Beta = options.Beta,
            KlEstimator = options.KlEstimator,
            KlLogRatioClamp = options.KlLogRatioClamp,
            KlValueClamp = options.KlValueClamp,
            Sampler = options.SamplerCorrection,
            SamplerPerSequence = options.SamplerCorrectionPerSequence,
            SamplerMin = options.SamplerCorrectionMin,
            SamplerMax = options.SamplerCorrectionMax,
            Aggregation = options.Aggregation,
            MaxLength = options.MaxCompletionLength ?? columns,
            OnPolicy = inputs.OldLogProbs is null,
            PerTokenAdvantages = inputs.Advantages.dim() == 2,
            ByteMask = inputs.Mask.dtype is torch.ScalarType.Bool or torch.ScalarType.Byte,
            NeedGradient = needGradient,
        };
    }
}
