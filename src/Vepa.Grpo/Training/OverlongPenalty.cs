namespace Vepa.Grpo;

/// <summary>
/// DAPO's soft overlong punishment (Yu et al. 2025, eq. 13; verl's <c>overlong_buffer</c>): 0 up to L_max − L_cache tokens, then
/// falling linearly to −factor at L_max.
/// </summary>
internal static class OverlongPenalty
{
    /// <summary>The name of the trainer's reward component that carries the penalty.</summary>
    public const string ComponentName = "overlong";

    /// <summary>The penalty of one completion.</summary>
    /// <param name="length">The completion's tokens (Σ mask: the stop token included, as verl counts the response).</param>
    /// <param name="truncated">Whether it hit L_max without a stop token; it then counts as L_max tokens (−factor), as in verl,
    /// where a truncated response is exactly L_max long.</param>
    /// <param name="maxLength">L_max, the sampling limit (<see cref="SamplingOptions.MaxNewTokens"/>).</param>
    /// <param name="buffer">L_cache, at least 1 and at most L_max.</param>
    /// <param name="factor">The penalty at L_max.</param>
    /// <returns>min(((L_max − L_cache) − length) / L_cache × factor, 0), with length capped at L_max.</returns>
    public static double Of(int length, bool truncated, int maxLength, int buffer, double factor)
    {
        int counted = truncated ? maxLength : Math.Min(length, maxLength);
        int expected = maxLength - buffer;
        return counted <= expected ? 0.0 : (double)(expected - counted) / buffer * factor;
    }

    /// <summary>The penalties of a batch's completions, as scored reward results.</summary>
    public static RewardResult[] Score(RolloutBatch batch, int maxLength, int buffer, double factor)
    {
        var lengths = batch.CompletionLengths;
        var results = new RewardResult[batch.Count];
        for (int i = 0; i < results.Length; i++)
        {
            results[i] = RewardResult.Scored(Of(lengths[i], batch.Truncated[i], maxLength, buffer, factor));
        }

        return results;
    }
}
