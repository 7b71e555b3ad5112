using static TorchSharp.torch;

namespace Vepa.Grpo;

/// <summary>
/// How one step's update passes are cut into micro-batches, and what they compute: runs of
/// <see cref="GrpoTrainerOptions.MicroBatchSize"/> rows over the batch's full completion length, or (with
/// <see cref="GrpoTrainerOptions.MicroBatchTokenBudget"/>) rows packed by <see cref="TokenBudgetPacking"/> whose forward pass
/// stops at the longest completion among them. Counts the tokens the passes computed for the step record.
/// </summary>
internal sealed class MicroBatchPlan
{
    private readonly RolloutBatch _batch;
    private readonly int _microSize;
    private readonly int _budget;
    private readonly int[] _promptTokens;
    private readonly int[] _extents;
    private long _realTokens;

    /// <summary>Initializes a new instance of the <see cref="MicroBatchPlan"/> class for one step.</summary>
    /// <param name="batch">The step's rollouts.</param>
    /// <param name="microSize">The rows of a row-based micro-batch.</param>
    /// <param name="budget">The token budget, or 0 for row-based micro-batches.</param>
    public MicroBatchPlan(RolloutBatch batch, int microSize, int budget)
    {
        _batch = batch;
        _microSize = microSize;
        _budget = budget;
        _promptTokens = Enumerable.Range(0, batch.Count).Select(r => batch.PromptOf(r).PromptTokenIds.Count).ToArray();

        // A row's completion positions to compute run up to its last unmasked token (read once from the mask).
        using var scope = NewDisposeScope();
        var mask = batch.CompletionMask;
        var positions = arange(1, batch.Length + 1, ScalarType.Int64, mask.device).unsqueeze(0);
        _extents = batch.Length == 0 ? new int[batch.Count]
            : Array.ConvertAll(mask.to(ScalarType.Int64).mul(positions).amax(new long[] { 1 }).cpu().data<long>().ToArray(), e => (int)e);
    }

    /// <summary>Gets the tokens the update's forward passes computed so far: Σ rows × (longest prompt + completion positions computed).</summary>
    public long ComputedTokens { get; private set; }

    /// <summary>Gets the fraction of <see cref="ComputedTokens"/> that was padding (NaN before any pass).</summary>
    public double PaddingFraction => ComputedTokens == 0 ? double.NaN : 1.0 - ((double)_realTokens / ComputedTokens);

    /// <summary>Gets the first row found longer than the budget on its own (it was given a micro-batch of its own), or -1.</summary>
    public int OversizedRow { get; private set; } = -1;

    /// <summary>Gets the tokens of <see cref="OversizedRow"/> (prompt + completion).</summary>
    public long OversizedTokens => OversizedRow < 0 ? 0 : (long)_promptTokens[OversizedRow] + _extents[OversizedRow];

    /// <summary>Cuts a minibatch into micro-batches.</summary>
    /// <param name="minibatch">The minibatch's rows.</param>
    /// <returns>The micro-batches; every row appears once.</returns>
    public IReadOnlyList<int[]> Split(int[] minibatch)
    {
        if (_budget == 0)
        {
            return minibatch.Chunk(_microSize).ToArray();
        }

        var packed = TokenBudgetPacking.Pack(minibatch, _promptTokens, _extents, _budget, out int oversized);
        if (OversizedRow < 0)
        {
            OversizedRow = oversized;
        }

        return packed;
    }

    /// <summary>
    /// Computes the policy's log-probs (and entropy) of a micro-batch, [rows, T] like the whole batch: with a token budget the
    /// pass stops at the longest completion of the micro-batch (causal attention leaves the earlier positions unchanged) and
    /// the positions after it are filled with 0, which the mask excludes.
    /// </summary>
    /// <param name="policy">The policy.</param>
    /// <param name="options">The log-prob options; <see cref="PolicyLogProbOptions.Rows"/> is the micro-batch.</param>
    /// <returns>The log-probs, in the current dispose scope.</returns>
    public PolicyLogProbs ComputeLogProbs(IPolicy policy, PolicyLogProbOptions options)
    {
        int[] rows = [.. options.Rows!];
        int length = _batch.Length;
        int computed = _budget == 0 ? length : Math.Min(length, Math.Max(1, rows.Max(r => _extents[r])));
        ComputedTokens += TokenBudgetPacking.Rectangle(rows, _promptTokens, computed);
        _realTokens += rows.Sum(r => (long)_promptTokens[r] + _batch.CompletionLengths[r]);
        if (computed == length)
        {
            return policy.ComputeLogProbs(_batch, options);
        }

        using var narrowed = new RolloutBatch(
            _batch.Prompts,
            _batch.GroupSize,
            _batch.CompletionIds.narrow(1, 0, computed),
            _batch.CompletionMask.narrow(1, 0, computed),
            _batch.Truncated,
            _batch.Texts,
            _batch.SamplerLogProbs?.narrow(1, 0, computed));
        var result = policy.ComputeLogProbs(narrowed, options);
        long[] padding = [0, length - computed];
        return new PolicyLogProbs(
            nn.functional.pad(ThrowIfNotShaped(result.LogProbs, rows.Length, computed), padding),
            result.Entropy is null ? null : nn.functional.pad(ThrowIfNotShaped(result.Entropy, rows.Length, computed), padding));
    }

    private static Tensor ThrowIfNotShaped(Tensor values, int rows, int length)
    {
        if (values is null || values.dim() != 2 || values.shape[0] != rows || values.shape[1] != length)
        {
            throw new InvalidOperationException(
                $"The policy returned the log-probs of a micro-batch shaped {(values is null ? "null" : $"[{string.Join(", ", values.shape)}]")}; expected [rows = {rows}, T = {length}] like the completion mask it was given.");
        }

        return values;
    }
}
