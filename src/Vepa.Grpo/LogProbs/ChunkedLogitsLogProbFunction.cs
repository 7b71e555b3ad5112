using TorchSharp;
using static TorchSharp.torch;

namespace Vepa.Grpo;

/// <summary>
/// log p(target) from logits [B, T, V] in row chunks. Forward keeps the per-row logsumexp [B·T]; backward recomputes
/// softmax chunk by chunk and writes the gradient into one preallocated [B, T, V] tensor.
/// </summary>
/// <remarks>
/// Arguments of <c>apply</c>: logits [B, T, V] (float), target ids [B·T] (int64), temperature (double),
/// rows per chunk (long), an <see cref="EntropySink"/> or <see langword="null"/>, overwrite (bool), shift (bool). With shift
/// the logits are [B, T + 1, V]: the first T positions are used, and backward writes zeros at the last one.
/// Returns the log-probs [B, T] and, with a differentiable sink, the entropy [B, T] as a second output (its gradient
/// −p (log p + H) is added in backward); otherwise the entropy goes to the sink as a plain tensor without gradient.
/// </remarks>
internal sealed class ChunkedLogitsLogProbFunction : autograd.MultiTensorFunction<ChunkedLogitsLogProbFunction>
{
    /// <inheritdoc />
    public override string Name => nameof(ChunkedLogitsLogProbFunction);

    /// <inheritdoc />
    public override List<Tensor> forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var full = (Tensor)vars[0];
        bool shift = (bool)vars[6];
        var logits = shift ? full.narrow(1, 0, full.shape[1] - 1) : full;
        var targetIds = (Tensor)vars[1];
        double temperature = (double)vars[2];
        long chunkRows = (long)vars[3];
        var sink = vars[4] as EntropySink;
        bool overwriteLogits = (bool)vars[5];

        long batch = logits.shape[0];
        long time = logits.shape[1];
        long rows = batch * time;
        var compute = RowChunks.ComputeType(logits.dtype);
        bool flat = RowChunks.RowsAreFlat(logits);

        using var scope = NewDisposeScope();
        var logProbs = empty([rows], compute, logits.device);
        var logSumExp = empty([rows], compute, logits.device);
        var entropy = sink is null ? null : empty([rows], compute, logits.device);
        foreach (var (start, count) in RowChunks.Plan(batch, time, chunkRows, flat))
        {
            using var chunkScope = NewDisposeScope();
            var chunk = RowChunks.RowView(logits, start, count, flat);
            var z = RowChunks.Scaled(chunk, compute, temperature, out bool owned);
            RowChunks.Forward(
                z,
                owned,
                targetIds.narrow(0, start, count).unsqueeze(1),
                logProbs.narrow(0, start, count),
                logSumExp.narrow(0, start, count),
                entropy?.narrow(0, start, count));
        }

        // The entropy is saved as a private copy (saving an output itself would tie the node to its own result).
        bool entropyGradient = sink?.Differentiable == true;
        ctx.save_for_backward([full, targetIds, logSumExp, entropyGradient ? entropy!.clone().MoveToOuterDisposeScope() : null!]);
        if (entropyGradient)
        {
            // An output that does not reach the loss gets an undefined gradient; TorchSharp's zero-filling would read a
            // cached tensor that the caller's dispose scope has already released.
            ctx.set_materialize_grads(false);
        }
        ctx.save_data("shift", shift);
        ctx.save_data("temperature", temperature);
        ctx.save_data("chunkRows", chunkRows);
        ctx.save_data("overwriteLogits", overwriteLogits);

        // The saved tensors are committed after forward returns, so they must outlive this scope.
        logSumExp.MoveToOuterDisposeScope();
        var outputs = new List<Tensor> { logProbs.view(batch, time).MoveToOuterDisposeScope() };
        if (entropyGradient)
        {
            outputs.Add(entropy!.view(batch, time).MoveToOuterDisposeScope());
        }
        else if (sink is not null)
        {
            sink.Entropy = entropy!.view(batch, time).MoveToOuterDisposeScope();
        }

        return outputs;
    }

    /// <inheritdoc />
    public override List<Tensor> backward(autograd.AutogradContext ctx, List<Tensor> grad_outputs)
    {
        using var scope = NewDisposeScope();
        var saved = ctx.get_saved_variables();
        var full = saved[0];
        bool shift = (bool)ctx.get_data("shift");
        var logits = shift ? full.narrow(1, 0, full.shape[1] - 1) : full;
        var targetIds = saved[1];
        var logSumExp = saved[2];
        var entropy = saved.Count > 3 && saved[3] is { IsInvalid: false } savedEntropy ? savedEntropy : null;
        double temperature = (double)ctx.get_data("temperature");
        long chunkRows = (long)ctx.get_data("chunkRows");
        bool overwriteLogits = (bool)ctx.get_data("overwriteLogits");

        long batch = logits.shape[0];
        long time = logits.shape[1];
        long vocabulary = logits.shape[2];
        var compute = logSumExp.dtype;
        bool flat = RowChunks.RowsAreFlat(logits);

        // Overwriting: the gradient is written into the logits' own storage, chunk by chunk, and handed back as the gradient.
        // Shifted: the gradient has the full [B, T + 1, V] shape; its last position is zero and the rest is written below.
        var gradFull = overwriteLogits ? full : empty(full.shape, full.dtype, full.device);
        if (shift)
        {
            gradFull.narrow(1, time, 1).zero_();
        }

        var grad = shift ? gradFull.narrow(1, 0, time) : gradFull;
        var gradRows = overwriteLogits ? null : RowsOf(grad, batch * time, vocabulary, shift);
        var upstream = Defined(grad_outputs[0]) is Tensor g ? g.reshape(batch * time).to(compute) : zeros([batch * time], compute, logSumExp.device);
        var entropyUpstream = entropy is not null && grad_outputs.Count > 1 && Defined(grad_outputs[1]) is Tensor gh
            ? gh.reshape(batch * time).to(compute)
            : null;
        foreach (var (start, count) in RowChunks.Plan(batch, time, chunkRows, flat))
        {
            using var chunkScope = NewDisposeScope();
            var chunk = RowChunks.RowView(logits, start, count, flat);
            var destination = overwriteLogits ? chunk : (shift ? RowChunks.RowView(grad, start, count, flat) : gradRows!.narrow(0, start, count));

            // Same dtype: work directly in the gradient's memory. Low precision: one float32 chunk, then round once.
            Tensor work;
            if (logits.dtype == compute)
            {
                work = overwriteLogits ? chunk : destination.copy_(chunk);
                if (temperature != 1.0)
                {
                    work.div_(temperature);
                }
            }
            else
            {
                work = RowChunks.Scaled(chunk, compute, temperature, out _);
            }

            RowChunks.Backward(
                work,
                logSumExp.narrow(0, start, count),
                targetIds.narrow(0, start, count).unsqueeze(1),
                upstream.narrow(0, start, count),
                temperature,
                entropy?.narrow(0, start, count),
                entropyUpstream?.narrow(0, start, count));
            if (logits.dtype != compute)
            {
                destination.copy_(work);
            }
        }

        return [gradFull.MoveToOuterDisposeScope(), null!, null!, null!, null!, null!, null!];
    }

    private static Tensor? Defined(Tensor? gradient) => gradient is null || gradient.IsInvalid ? null : gradient;

    private static Tensor? RowsOf(Tensor grad, long rows, long vocabulary, bool shift)
        => shift ? null : grad.view(rows, vocabulary);
}
