using Vepa.Samples.SceneVepa.Stages;

namespace Vepa.Samples.SceneVepa.Report;

/// <summary>One logged VEPA step, as the report plots it.</summary>
internal sealed record VepaStepPoint(int Step, double MeanReward, double MeanLength, double Kl, double ZeroStdFraction, double Seconds);

/// <summary>A rendered held-out scene with a question, the evidence before and after VEPA, and what the reader answered.</summary>
internal sealed record SceneExample(string ImageFile, string Truth, string Question, string Gold, string EvidenceBefore, string AnswerBefore, string EvidenceAfter, string AnswerAfter);

/// <summary>Everything measured for one seed; written as JSON so that a resumed run reports finished seeds without rerunning them.</summary>
internal sealed record SeedResult
{
    public required int Seed { get; init; }

    public required double Seconds { get; init; }

    public required IReadOnlyList<VepaStepPoint> VepaCurve { get; init; }

    public required double RewardStart { get; init; }

    public required double RewardEnd { get; init; }

    public required Dictionary<string, double> SftAccuracy { get; init; }

    public required Dictionary<string, double> VepaSftAccuracy { get; init; }

    public required IReadOnlyList<EvidenceScore> CaptionEvidence { get; init; }

    public required IReadOnlyList<EvidenceScore> VepaEvidence { get; init; }

    /// <summary>Gets the caption model's evidence checked against the scene graph, per family and overall.</summary>
    public required Dictionary<string, FaithfulnessScore> CaptionFaithfulness { get; init; }

    /// <summary>Gets the VEPA model's evidence checked against the scene graph, per family and overall.</summary>
    public required Dictionary<string, FaithfulnessScore> VepaFaithfulness { get; init; }

    /// <summary>
    /// Gets the caption model's evidence on every held-out question (the prior-guessable ones too), checked against the scene graph:
    /// the visually demanding split keeps only the answer the prior gets wrong, so for yes/no types it holds one answer only.
    /// </summary>
    public Dictionary<string, FaithfulnessScore>? CaptionFaithfulnessAll { get; init; }

    public Dictionary<string, FaithfulnessScore>? VepaFaithfulnessAll { get; init; }

    /// <summary>Gets overall retention per corruption kind ("GaussianNoise", "MaskedPatches") for the SFT model; null with --no-table3.</summary>
    public Dictionary<string, double[]>? SftRetention { get; init; }

    public Dictionary<string, double[]>? VepaSftRetention { get; init; }

    /// <summary>Gets the SFT model's accuracy per corruption kind, family (and "overall") and level (0 = clean); null with --no-table3.</summary>
    public Dictionary<string, Dictionary<string, double[]>>? SftCorrupted { get; init; }

    public Dictionary<string, Dictionary<string, double[]>>? VepaSftCorrupted { get; init; }

    /// <summary>Gets the SFT model's accuracy with every patch masked (the question alone), per family and overall; null with --no-table3.</summary>
    public Dictionary<string, double>? SftBlind { get; init; }

    public Dictionary<string, double>? VepaSftBlind { get; init; }

    /// <summary>Gets the training reader's accuracy from the caption model's evidence per corruption kind and level; null with --no-table3.</summary>
    public Dictionary<string, double[]>? CaptionEvidenceCorrupted { get; init; }

    public Dictionary<string, double[]>? VepaEvidenceCorrupted { get; init; }

    /// <summary>Gets the seconds this seed's own caption pretraining took (--caption-per-seed), else 0.</summary>
    public double CaptionSeconds { get; init; }

    public required IReadOnlyList<SceneExample> Examples { get; init; }
}

/// <summary>What the whole run measured, for the report.</summary>
internal sealed record RunResult(
    RunOptions Options,
    IReadOnlyList<SeedResult> Seeds,
    double CaptionLoss,
    int TrainReaderItems,
    int HeldOutItems,
    int DemandingItems,
    double WallSeconds,
    string Machine,
    string TrainingReader,
    double CpuSeconds,
    string LoadAverage,
    IReadOnlyDictionary<string, string> DemandingBalance);
