namespace Vepa.Grpo;

/// <summary>Running sums of a step's loss statistics over its micro-batches and optimizer steps.</summary>
internal sealed class UpdateTotals
{
    public double LossSum { get; private set; }

    public int LossCount { get; private set; }

    public long Tokens { get; private set; }

    public double Kl { get; private set; }

    public double ClipLow { get; private set; }

    public double ClipHigh { get; private set; }

    public double DualClip { get; private set; }

    public double Ratio { get; private set; }

    public double Entropy { get; private set; }

    public long EntropyTokens { get; private set; }

    public double NormSum { get; private set; }

    public int Norms { get; private set; }

    public int Skipped { get; set; }

    public double MeanLoss => LossCount == 0 ? double.NaN : LossSum / LossCount;

    public void Add(PolicyLossResult result, double? entropySum)
    {
        var s = result.Statistics;
        LossSum += result.Loss.detach().to(TorchSharp.torch.ScalarType.Float64).item<double>();
        LossCount++;
        Tokens += s.TokenCount;
        Kl += s.MeanKl * s.TokenCount;
        ClipLow += s.ClipFractionLow * s.TokenCount;
        ClipHigh += s.ClipFractionHigh * s.TokenCount;
        DualClip += s.DualClipFraction * s.TokenCount;
        Ratio += s.MeanRatio * s.TokenCount;
        if (entropySum is double e)
        {
            Entropy += e;
            EntropyTokens += s.TokenCount;
        }
    }

    public void AddNorm(double norm)
    {
        NormSum += norm;
        Norms++;
    }

    public double TokenMean(double sum) => Tokens == 0 ? double.NaN : sum / Tokens;
}
