namespace Vepa.Grpo;

/// <summary>
/// The one place that knows how a loss aggregation splits over micro-batches: the weight of a micro-batch's loss so that the
/// gradients accumulated over the micro-batches of a minibatch equal the gradient of the minibatch's loss, and the reported
/// objective (Σ weight × micro-batch loss) equals the minibatch's loss.
/// </summary>
internal static class MicroBatchWeights
{
    /// <summary>Whether <see cref="Of"/> needs the token counts of the rows.</summary>
    /// <param name="aggregation">The loss aggregation.</param>
    /// <returns><see langword="true"/> for <see cref="LossAggregation.TokenMean"/>.</returns>
    public static bool NeedsTokenCounts(LossAggregation aggregation) => aggregation == LossAggregation.TokenMean;

    /// <summary>
    /// The weight of a micro-batch: its share of the tokens for the token mean (whose normaliser is the token count), 1 for the
    /// token sum (no normaliser), and its share of the rows for the row-normalised aggregations (sequence mean of token means,
    /// the constant normaliser B × L).
    /// </summary>
    /// <param name="aggregation">The loss aggregation.</param>
    /// <param name="microRows">The rows of the micro-batch.</param>
    /// <param name="miniRows">The rows of its minibatch.</param>
    /// <param name="microTokens">The unmasked tokens of the micro-batch (token mean only).</param>
    /// <param name="miniTokens">The unmasked tokens of the minibatch (token mean only).</param>
    /// <returns>The weight in [0, 1].</returns>
    public static double Of(LossAggregation aggregation, int microRows, int miniRows, long microTokens, long miniTokens)
        => aggregation switch
        {
            // The kernel divides by max(1, tokens); a micro-batch without tokens has a zero loss whatever its weight.
            LossAggregation.TokenMean => (double)Math.Max(1, microTokens) / Math.Max(1, miniTokens),
            LossAggregation.TokenSum => 1.0,
            _ => (double)microRows / miniRows,
        };
}
