namespace Vepa.Grpo;

/// <summary>
/// Packs the rows of a minibatch into micro-batches by a token budget (verl's <c>use_dynamic_bsz</c> with
/// <c>ppo_max_token_len_per_gpu</c>): longest rows first, each micro-batch growing while its padded rectangle fits the budget.
/// </summary>
/// <remarks>
/// A micro-batch's cost is the rectangle its forward pass computes: rows × (longest prompt + longest completion among its rows),
/// since prompts are left-padded and completions right-padded to the longest in the pass. Sorting by length puts rows of
/// similar lengths together, so the rectangle holds little padding. The grouping does not change the gradient: each
/// micro-batch's loss is weighted by <see cref="MicroBatchWeights"/>, whatever rows it holds.
/// </remarks>
internal static class TokenBudgetPacking
{
    /// <summary>Cuts <paramref name="rows"/> into micro-batches within <paramref name="budget"/> tokens.</summary>
    /// <param name="rows">The minibatch's rows.</param>
    /// <param name="promptTokens">Per batch row, its prompt tokens.</param>
    /// <param name="completionTokens">Per batch row, the completion positions to compute (up to its last unmasked token).</param>
    /// <param name="budget">The most tokens a micro-batch's rectangle may hold, ≥ 1.</param>
    /// <param name="oversized">The longest row that alone exceeds the budget (it gets a micro-batch of its own), or -1.</param>
    /// <returns>The micro-batches, longest rows first; every row appears once.</returns>
    public static List<int[]> Pack(int[] rows, int[] promptTokens, int[] completionTokens, int budget, out int oversized)
    {
        // Longest first; ties by row, so the packing depends only on the rows and their lengths.
        int[] sorted = rows.OrderByDescending(r => (long)promptTokens[r] + completionTokens[r]).ThenBy(r => r).ToArray();
        var batches = new List<int[]>();
        var current = new List<int>();
        int prompt = 0, completion = 0;
        oversized = -1;
        foreach (int row in sorted)
        {
            int p = Math.Max(prompt, promptTokens[row]), c = Math.Max(completion, completionTokens[row]);
            if (current.Count > 0 && (long)(current.Count + 1) * (p + c) > budget)
            {
                batches.Add([.. current]);
                current.Clear();
                p = promptTokens[row];
                c = completionTokens[row];
            }

            if (current.Count == 0 && (long)promptTokens[row] + completionTokens[row] > budget && oversized < 0)
            {
                oversized = row;
            }

            current.Add(row);
            (prompt, completion) = (p, c);
        }

        if (current.Count > 0)
        {
            batches.Add([.. current]);
        }

        return batches;
    }

    /// <summary>The tokens a forward pass over <paramref name="rows"/> computes: rows × (longest prompt + <paramref name="completion"/>).</summary>
    /// <param name="rows">The micro-batch's rows.</param>
    /// <param name="promptTokens">Per batch row, its prompt tokens.</param>
    /// <param name="completion">The completion positions the pass computes.</param>
    /// <returns>The padded rectangle in tokens.</returns>
    public static long Rectangle(int[] rows, int[] promptTokens, int completion)
        => (long)rows.Length * (rows.Max(r => promptTokens[r]) + completion);
}
