using TorchSharp;
using static TorchSharp.torch;

namespace Vepa.Grpo;

/// <summary>
/// The chunk loop of the fused linear policy loss. Per chunk (a block of whole rows, or a run of positions of one row):
/// logits = h·Wᵀ (+ b) / τ, the log-probs and logsumexp, the chunk's share of the loss and dL/dlog π
/// (<see cref="FusedPolicyLossFunction.Run"/> with the batch's normalisers), then dL/dlogits = (onehot − softmax)·dL/dlog π / τ
/// in place of the logits, and from it the chunk's rows of dL/dh and its terms of dL/dW and dL/db.
/// </summary>
internal static class FusedLinearPolicyLossKernel
{
    /// <summary>The default float32 logits per chunk: 32 MiB (256 positions at V = 32768).</summary>
    internal const long DefaultChunkBytes = 32L * 1024 * 1024;

    /// <summary>The fewest default positions per chunk: every chunk streams the whole [V, H] weight through three matmuls.</summary>
    internal const long DefaultMinimumRows = 128;

    /// <summary>Runs the loop; fills the call's log-prob buffer, summary and layout.</summary>
    /// <param name="call">The validated call.</param>
    /// <returns>The loss (a scalar in the compute dtype) and the gradients that were asked for (full input shapes).</returns>
    public static (Tensor Loss, Tensor? GradHidden, Tensor? GradWeight, Tensor? GradBias) Run(FusedLinearPolicyLossCall call)
    {
        using var scope = NewDisposeScope();
        var inputs = call.Inputs;
        var options = call.Options;
        Tensor hiddenFull = inputs.Hidden;
        Tensor weight = inputs.Weight;
        Tensor? bias = inputs.Bias;
        Tensor logProbs = call.LossInputs.LogProbs;
        long batch = logProbs.shape[0];
        long time = logProbs.shape[1];
        long hiddenSize = weight.shape[1];
        long vocabulary = weight.shape[0];
        var dtype = hiddenFull.dtype;
        var compute = RowChunks.ComputeType(dtype);
        double temperature = inputs.Temperature;
        bool needsGradient = call.NeedHidden || call.NeedWeight || call.NeedBias;
        Tensor hidden = inputs.Shift ? hiddenFull.narrow(1, 0, time) : hiddenFull;

        // The normalisers every aggregation needs, from the mask, before any chunk: then each chunk's gradient is final.
        Tensor mask = call.LossInputs.Mask;
        Tensor valid = mask.dtype == ScalarType.Bool ? mask : mask.ne(0);
        Tensor rowTokens = valid.sum(1).to(logProbs.dtype);
        Tensor rowDen = rowTokens.clamp_min(1.0);
        Tensor tokenDen = rowTokens.sum().clamp_min(1.0);

        Tensor? gradHiddenFull = call.NeedHidden ? zeros(hiddenFull.shape, dtype, hiddenFull.device) : null;
        Tensor? gradHidden = gradHiddenFull is null ? null : (inputs.Shift ? gradHiddenFull.narrow(1, 0, time) : gradHiddenFull);
        Tensor? gradWeight = call.NeedWeight ? zeros(weight.shape, dtype, weight.device) : null;
        Tensor? gradBias = call.NeedBias ? zeros(bias!.shape, compute, bias.device) : null;
        Tensor loss = zeros([], logProbs.dtype, logProbs.device);
        Tensor? summary = null;

        long chunkTokens = inputs.ChunkSize is int requested
            ? Math.Clamp(requested, 1, Math.Max(1, batch * time))
            : Math.Clamp(Math.Max(DefaultMinimumRows, DefaultChunkBytes / (sizeof(float) * vocabulary)), 1, Math.Max(1, batch * time));
        bool wholeRows = options.RatioLevel == RatioLevel.Sequence
            || (options.SamplerCorrection != SamplerCorrectionMode.None && options.SamplerCorrectionPerSequence);
        foreach (var (b0, rows, t0, positions) in Plan(batch, time, chunkTokens, wholeRows))
        {
            using var chunkScope = NewDisposeScope();
            long n = rows * positions;
            Tensor Slice(Tensor t) => t.narrow(0, b0, rows).narrow(1, t0, positions);
            Tensor? SliceOptional(Tensor? t) => t is null ? null : Slice(t);

            Tensor h = Slice(hidden).reshape(n, hiddenSize);
            Tensor targetIndex = Slice(inputs.Targets).reshape(n, 1).to(ScalarType.Int64);
            Tensor z = bias is null ? h.mm(weight.t()) : addmm(bias, h, weight.t(), 1.0f, 1.0f);
            if (z.dtype != compute)
            {
                using Tensor low = z;
                z = low.to(compute);
            }

            if (temperature != 1.0)
            {
                z.div_(temperature);
            }

            // One chunk of memory, worked in place: z → e = exp(z − max) → (later) dL/dz. A row with NaN or +∞ gives NaN.
            Tensor target = z.gather(1, targetIndex).squeeze(1);
            Tensor max = z.amax([1], keepdim: true);
            z.sub_(max).exp_();
            Tensor sum = z.sum(1);
            Tensor lp = target.sub_(sum.log().add_(max.squeeze(1)));
            Tensor chunkLogProbs = Slice(logProbs);
            chunkLogProbs.copy_(lp.view(rows, positions));

            var chunkInputs = new PolicyLossInputs
            {
                LogProbs = chunkLogProbs,
                Advantages = call.LossInputs.Advantages.dim() == 1
                    ? call.LossInputs.Advantages.narrow(0, b0, rows)
                    : Slice(call.LossInputs.Advantages),
                Mask = Slice(mask),
                OldLogProbs = SliceOptional(call.LossInputs.OldLogProbs),
                ReferenceLogProbs = SliceOptional(call.LossInputs.ReferenceLogProbs),
                SamplerLogProbs = SliceOptional(call.LossInputs.SamplerLogProbs),
            };
            var aggregation = new LossAggregationScope(rowDen.narrow(0, b0, rows), batch, time, tokenDen);
            var (chunkLoss, coefficient, chunkSummary, layout) =
                FusedPolicyLossFunction.Run(chunkLogProbs, chunkInputs, options, needsGradient, aggregation);
            loss.add_(chunkLoss);
            call.Layout = layout;
            if (summary is null)
            {
                summary = chunkSummary.MoveToOuterDisposeScope();
            }
            else
            {
                summary.add_(chunkSummary);
            }

            if (!needsGradient)
            {
                continue;
            }

            // z becomes dL/dlogits = (onehot − e/Σe)·s with s = dL/dlog π / τ, in place: two passes over the chunk.
            Tensor scale = coefficient!.reshape(n).to(compute).div_(temperature);
            z.mul_(scale.div(sum).neg_().unsqueeze(1));
            z.scatter_add_(1, targetIndex, scale.unsqueeze(1));
            gradBias?.add_(z.sum(0L));

            // The two matmuls run in the inputs' dtype, as autograd's would (bf16 uses the bf16 GEMM, which accumulates in
            // float32 and rounds its output); the weight's gradient is summed over the chunks in the inputs' dtype too,
            // so no float32 [V, H] accumulator exists.
            Tensor g = z.dtype == dtype ? z : z.to(dtype);
            if (gradHidden is not null)
            {
                Slice(gradHidden).copy_(g.mm(weight).view(rows, positions, hiddenSize));
            }

            gradWeight?.addmm_(g.t(), h, 1.0f, 1.0f);
        }

        call.Summary = summary!.MoveToOuterDisposeScope();
        return (
            loss.MoveToOuterDisposeScope(),
            gradHiddenFull?.MoveToOuterDisposeScope(),
            ToDtype(gradWeight, dtype)?.MoveToOuterDisposeScope(),
            ToDtype(gradBias, dtype)?.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// The chunks: blocks of whole rows of at most <paramref name="chunkTokens"/> positions (at least one row), or, when a
    /// row alone is longer and the loss allows it (token-level ratio), runs of positions within each row.
    /// </summary>
    internal static List<(long Row, long Rows, long Position, long Positions)> Plan(long batch, long time, long chunkTokens, bool wholeRows)
    {
        var chunks = new List<(long, long, long, long)>();
        if (wholeRows || time <= chunkTokens)
        {
            long rowsPerChunk = Math.Max(1, chunkTokens / time);
            for (long b = 0; b < batch; b += rowsPerChunk)
            {
                chunks.Add((b, Math.Min(rowsPerChunk, batch - b), 0, time));
            }

            return chunks;
        }

        for (long b = 0; b < batch; b++)
        {
            for (long t = 0; t < time; t += chunkTokens)
            {
                chunks.Add((b, 1, t, Math.Min(chunkTokens, time - t)));
            }
        }

        return chunks;
    }

    private static Tensor? ToDtype(Tensor? tensor, ScalarType dtype)
        => tensor is null || tensor.dtype == dtype ? tensor : tensor.to(dtype);
}
