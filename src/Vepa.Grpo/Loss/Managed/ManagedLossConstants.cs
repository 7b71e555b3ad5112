using System.Numerics;

namespace Vepa.Grpo;

/// <summary>The options as broadcast vectors of <typeparamref name="T"/> (scalars rounded to T once, as a tensor op does).</summary>
/// <typeparam name="T">float or double.</typeparam>
internal readonly struct ManagedLossConstants<T>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    /// <summary>Initializes a new instance of the <see cref="ManagedLossConstants{T}"/> struct.</summary>
    /// <param name="plan">The resolved options.</param>
    public ManagedLossConstants(ManagedLossPlan plan)
    {
        Cispo = plan.Cispo;
        SequenceRatio = plan.SequenceRatio;
        ClipLow = Broadcast(plan.ClipLow);
        ClipHigh = Broadcast(plan.ClipHigh);
        HasDelta = plan.Delta.HasValue;
        Delta = Broadcast(plan.Delta ?? 0);
        HasDualClip = plan.DualClip.HasValue;
        DualClip = Broadcast(plan.DualClip ?? 0);
        HasLogRatioClamp = plan.LogRatioClamp.HasValue;
        LogRatioClampScalar = T.CreateTruncating(plan.LogRatioClamp ?? 0);
        LogRatioClamp = new Vector<T>(LogRatioClampScalar);
        NegLogRatioClamp = -LogRatioClamp;
        UseKl = plan.UseKl;
        Beta = Broadcast(plan.Beta);
        KlEstimator = plan.KlEstimator;
        HasKlLogRatioClamp = plan.KlLogRatioClamp.HasValue;
        KlLogRatioClamp = Broadcast(plan.KlLogRatioClamp ?? 0);
        NegKlLogRatioClamp = -KlLogRatioClamp;
        HasKlValueClamp = plan.KlValueClamp.HasValue;
        KlValueClamp = Broadcast(plan.KlValueClamp ?? 0);
        NegKlValueClamp = -KlValueClamp;
        Sampler = plan.Sampler;
        SamplerPerSequence = plan.SamplerPerSequence;
        SamplerMin = Broadcast(plan.SamplerMin);
        SamplerMax = Broadcast(plan.SamplerMax);
        Half = Broadcast(0.5);
        PerTokenAdvantages = plan.PerTokenAdvantages;
        HasRareSettings = HasDelta || HasDualClip || HasLogRatioClamp || HasKlLogRatioClamp || HasKlValueClamp || PerTokenAdvantages;
    }

    public bool Cispo { get; }

    public bool SequenceRatio { get; }

    public Vector<T> ClipLow { get; }

    public Vector<T> ClipHigh { get; }

    public bool HasDelta { get; }

    public Vector<T> Delta { get; }

    public bool HasDualClip { get; }

    public Vector<T> DualClip { get; }

    public bool HasLogRatioClamp { get; }

    public T LogRatioClampScalar { get; }

    public Vector<T> LogRatioClamp { get; }

    public Vector<T> NegLogRatioClamp { get; }

    public bool UseKl { get; }

    public Vector<T> Beta { get; }

    public KlEstimator KlEstimator { get; }

    public bool HasKlLogRatioClamp { get; }

    public Vector<T> KlLogRatioClamp { get; }

    public Vector<T> NegKlLogRatioClamp { get; }

    public bool HasKlValueClamp { get; }

    public Vector<T> KlValueClamp { get; }

    public Vector<T> NegKlValueClamp { get; }

    public SamplerCorrectionMode Sampler { get; }

    public bool SamplerPerSequence { get; }

    public Vector<T> SamplerMin { get; }

    public Vector<T> SamplerMax { get; }

    public Vector<T> Half { get; }

    public bool PerTokenAdvantages { get; }

    /// <summary>Gets a value indicating whether δ, dual clip, a log-ratio or KL clamp, or per-token advantages are in use
    /// (the sweep then runs its general variant; without them, a variant with those branches compiled out).</summary>
    public bool HasRareSettings { get; }

    private static Vector<T> Broadcast(double value) => new(T.CreateTruncating(value));
}
