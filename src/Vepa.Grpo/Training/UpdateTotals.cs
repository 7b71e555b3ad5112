namespace Vepa.Grpo;

/// <summary>Running sums of loss statistics over micro-batches: of one optimizer update, or (merged) of a whole step.</summary>
internal sealed class UpdateTotals
{
    /// <summary>Gets the sum over updates of each update's objective, Σ weight × micro-batch loss.</summary>
    public double LossSum { get; private set; }

    public int Updates { get; private set; }

    public long Tokens { get; private set; }

    public double Kl { get; private set; }

    public double ClipLow { get; private set; }

    public double ClipHigh { get; private set; }

    public double DualClip { get; private set; }

    public double Ratio { get; private set; }

    public double Entropy { get; private set; }

    public long EntropyTokens { get; private set; }

    /// <summary>Gets Σ weight × micro-batch entropy bonus (the bonus of the update's objective, summed over updates).</summary>
    public double EntropyBonus { get; private set; }

    /// <summary>Gets Σ tokens × masked fraction: the valid tokens whose policy term the top-entropy mask dropped.</summary>
    public double EntropyMasked { get; private set; }

    public double NormSum { get; private set; }

    public int Norms { get; private set; }

    public int Skipped { get; set; }

    /// <summary>Gets the mean over the optimizer updates of the objective each one optimised (NaN without updates).</summary>
    public double MeanLoss => Updates == 0 ? double.NaN : LossSum / Updates;

    /// <summary>Adds a micro-batch of the current update, with the weight its loss was given in the accumulated gradient.</summary>
    public void Add(PolicyLossResult result, double weight, double? entropySum)
    {
        var s = result.Statistics;
        LossSum += weight * result.Loss.detach().to(TorchSharp.torch.ScalarType.Float64).item<double>();
        Updates = 1;
        Tokens += s.TokenCount;
        Kl += s.MeanKl * s.TokenCount;
        ClipLow += s.ClipFractionLow * s.TokenCount;
        ClipHigh += s.ClipFractionHigh * s.TokenCount;
        DualClip += s.DualClipFraction * s.TokenCount;
        Ratio += s.MeanRatio * s.TokenCount;
        EntropyBonus += weight * s.EntropyBonus;
        EntropyMasked += s.EntropyMaskedFraction * s.TokenCount;
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

    /// <summary>Adds the sums of one update to the step's.</summary>
    public void Merge(UpdateTotals update)
    {
        LossSum += update.LossSum;
        Updates += update.Updates;
        Tokens += update.Tokens;
        Kl += update.Kl;
        ClipLow += update.ClipLow;
        ClipHigh += update.ClipHigh;
        DualClip += update.DualClip;
        Ratio += update.Ratio;
        EntropyBonus += update.EntropyBonus;
        EntropyMasked += update.EntropyMasked;
        Entropy += update.Entropy;
        EntropyTokens += update.EntropyTokens;
        NormSum += update.NormSum;
        Norms += update.Norms;
        Skipped += update.Skipped;
    }

    /// <summary>The statistics of this single update.</summary>
    public GrpoUpdateStatistics ToStatistics(int iteration, int miniBatch, double gradNorm) => new()
    {
        Iteration = iteration,
        MiniBatch = miniBatch,
        Loss = MeanLoss,
        Kl = TokenMean(Kl),
        ClipFractionLow = TokenMean(ClipLow),
        ClipFractionHigh = TokenMean(ClipHigh),
        MeanRatio = TokenMean(Ratio),
        GradNorm = gradNorm,
        Skipped = Skipped > 0,
        TokenCount = Tokens,
    };

    public double TokenMean(double sum) => Tokens == 0 ? double.NaN : sum / Tokens;
}
