using TorchSharp;

namespace Vepa.Grpo;

/// <summary>
/// The whole batch's normalisers, computed from the mask before any chunk is processed, so that the policy loss of one chunk
/// (a block of rows, or part of one row) is exactly its share of the batch's loss and its gradient is final at once.
/// </summary>
/// <param name="RowDenominator">max(1, Σ_t M) of the chunk's rows, [rows] (sequence-mean of token-mean, GSPO's mean).</param>
/// <param name="Batch">The batch's B (sequence-mean of token-mean, constant normaliser).</param>
/// <param name="Length">The batch's T (constant normaliser without MaxCompletionLength).</param>
/// <param name="TokenDenominator">max(1, Σ M) over the whole batch, a scalar tensor (token-mean).</param>
internal sealed record LossAggregationScope(torch.Tensor RowDenominator, long Batch, long Length, torch.Tensor TokenDenominator);
