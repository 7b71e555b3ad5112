using System.ComponentModel.DataAnnotations;

namespace Vepa.Rewards;

/// <summary>Settings of <see cref="SufficiencyRewardModel"/>: the formula and the repetition penalty.</summary>
/// <remarks>
/// <see cref="SufficiencyRewardModel"/> validates and copies the options when it is built; changing them afterwards does not affect it.
/// Instances are not thread-safe.
/// </remarks>
public sealed class SufficiencyRewardOptions
{
    /// <summary>Gets or sets how s, h and the repetition penalty combine.</summary>
    /// <value>The default is <see cref="SufficiencyRewardFormula.Multiplicative"/> (R = s · h · γ, the paper's Eq. 11).</value>
    public SufficiencyRewardFormula Formula { get; set; } = SufficiencyRewardFormula.Multiplicative;

    /// <summary>Gets or sets the n-gram length, in content units, of the repetition measure (<see cref="RepetitionPenalty.Measure"/>).</summary>
    /// <value>The default is 3. Must be in [1, 16].</value>
    [Range(1, RepetitionPenalty.MaxNGramSize)]
    public int RepetitionNGramSize { get; set; } = SufficiencyRewardConstants.DefaultRepetitionNGramSize;

    /// <summary>Gets or sets the repetition measure up to which there is no penalty (γ = 1).</summary>
    /// <value>The default is 0.3 (calibrated: honest relational CLEVR descriptions that re-mention "the small red metal cube" reach about 0.24). Must be in [0, 1).</value>
    [Range(0.0, 1.0, MaximumIsExclusive = true)]
    public double RepetitionThreshold { get; set; } = SufficiencyRewardConstants.DefaultRepetitionThreshold;

    /// <summary>Gets or sets γ at a repetition measure of 1 (text that is one n-gram over and over); γ falls linearly to it from the threshold.</summary>
    /// <value>The default is 0.1, so degenerate evidence keeps little of its reward (0.5 let a correct but degenerate text keep half). Must be in (0, 1]; 1 turns the penalty off.</value>
    [Range(0.0, 1.0, MinimumIsExclusive = true)]
    public double RepetitionFloor { get; set; } = SufficiencyRewardConstants.DefaultRepetitionFloor;

    /// <summary>Gets or sets the reward of honest, sufficient evidence under <see cref="SufficiencyRewardFormula.Signed"/>.</summary>
    /// <value>The default is 1. Must be finite and &gt; 0.</value>
    public double SignedCorrectReward { get; set; } = SufficiencyRewardConstants.DefaultSignedCorrectReward;

    /// <summary>Gets or sets the reward of cheating evidence under <see cref="SufficiencyRewardFormula.Signed"/> (it replaces every other term).</summary>
    /// <value>The default is −1. Must be finite and ≤ 0.</value>
    public double SignedCheatingReward { get; set; } = SufficiencyRewardConstants.DefaultSignedCheatingReward;

    /// <summary>Gets or sets what repetitive honest evidence loses under <see cref="SufficiencyRewardFormula.Signed"/>.</summary>
    /// <value>The default is 0.5. Must be finite and ≥ 0.</value>
    public double SignedRepetitionPenalty { get; set; } = SufficiencyRewardConstants.DefaultSignedRepetitionPenalty;

    /// <summary>Gets or sets the longest evidence, in characters (UTF-16 code units), that is sent to the reader.</summary>
    /// <value>The default is 8000 (the paper's evidence averages about 200 tokens, roughly 1000 characters). Must be in [1, 10 000 000].</value>
    /// <remarks>The cap applies to the text as written and to the text as the reader understands it (encodings decoded, NFKC applied),
    /// whichever is longer: NFKC can multiply the length of a text (one ligature becomes up to 18 letters). Longer evidence is not sent: it
    /// is scored as <see cref="EvidenceFailureReward"/>, with the annotation "penalty".</remarks>
    [Range(1, SufficiencyRewardConstants.MaxMaxEvidenceCharacters)]
    public int MaxEvidenceCharacters { get; set; } = SufficiencyRewardConstants.DefaultMaxEvidenceCharacters;

    /// <summary>Gets or sets the longest evidence, in tokens of <see cref="EvidenceTokenCounter"/>, that is sent to the reader; <see langword="null"/> for no token cap.</summary>
    /// <value>The default is <see langword="null"/>. Must be positive, and needs <see cref="EvidenceTokenCounter"/>.</value>
    /// <remarks>Set it below the reader's context length minus the prompt, so that over-long evidence is penalised here instead of costing a call that fails with HTTP 400.</remarks>
    public int? MaxEvidenceTokens { get; set; }

    /// <summary>Gets or sets the function that counts the tokens of the evidence for <see cref="MaxEvidenceTokens"/>, for example
    /// <c>text =&gt; tokenizer.CountTokens(text)</c> with the reader's tokenizer from Microsoft.ML.Tokenizers.</summary>
    /// <value>The default is <see langword="null"/>. It is called from several threads at once; it must be thread-safe.</value>
    public Func<string, int>? EvidenceTokenCounter { get; set; }

    /// <summary>Gets or sets the reward of evidence that made the reader fail (<see cref="RewardFailureKind.Evidence"/>: over a cap or the
    /// reader's context, a malformed, ambiguous, truncated or filtered reply); <see langword="null"/> for the formula's minimum.</summary>
    /// <value>The default is <see langword="null"/>: 0 under <see cref="SufficiencyRewardFormula.Multiplicative"/>, and under
    /// <see cref="SufficiencyRewardFormula.Signed"/> the lowest signed reward, min(<see cref="SignedCheatingReward"/>, −<see cref="SignedRepetitionPenalty"/>) (−1 with the defaults).
    /// When set, it must be finite.</value>
    /// <remarks>Failing must never pay better than answering, or the policy learns to make the reader fail.</remarks>
    public double? EvidenceFailureReward { get; set; }

    /// <summary>Gets or sets how many times, within one batch, a read that timed out is tried before the timeout is charged to the evidence.</summary>
    /// <value>The default is 2. Must be in [1, 10].</value>
    /// <remarks>A read that times out on every attempt while the reader answered other requests (another item of the same batch, or any
    /// call of the same model, which the pipeline's concurrency stage runs in parallel, since the first attempt began) is an evidence failure
    /// (penalised with <see cref="EvidenceFailureReward"/>): the endpoint answers, so this evidence is what it cannot finish (a reasoning
    /// reader sent into a loop, a prompt at the edge of the context). When the reader answered nothing in that time, the timeouts stay
    /// transient infrastructure failures (NaN, retried by the pipeline): the endpoint is slow or down.</remarks>
    [Range(1, SufficiencyRewardConstants.MaxReaderTimeoutAttempts)]
    public int ReaderTimeoutAttempts { get; set; } = SufficiencyRewardConstants.DefaultReaderTimeoutAttempts;

    /// <summary>Gets or sets the repetition penalty's settings beyond the n-gram ratio: sentence-level and character-level measures and the length rule.</summary>
    /// <value>The default is <see cref="RepetitionPenaltyOptions"/>'s defaults.</value>
    public RepetitionPenaltyOptions Repetition { get; set; } = new();

    /// <summary>Creates a copy of these options.</summary>
    /// <returns>The copy.</returns>
    internal SufficiencyRewardOptions Clone()
    {
        var copy = (SufficiencyRewardOptions)MemberwiseClone();
        copy.Repetition = Repetition?.Clone()!;
        return copy;
    }
}
