using TorchSharp;
using static TorchSharp.torch;

namespace Vepa.Grpo;

/// <summary>
/// log p(target) from logits [B, T, V] in row chunks. Forward keeps the per-row logsumexp [B·T]; backward recomputes
/// softmax chunk by chunk and writes the gradient into one preallocated [B, T, V] tensor.
/// </summary>
/// <remarks>
/// Arguments of <c>apply</c>: logits [B, T, V] (float), target ids [B·T] (int64), temperature (double),
/// rows per chunk (long), an <see cref="EntropySink"/> or <see langword="null"/>.
/// </remarks>
internal sealed class ChunkedLogitsLogProbFunction : autograd.SingleTensorFunction<ChunkedLogitsLogProbFunction>
{
    /// <inheritdoc />
    public override string Name => nameof(ChunkedLogitsLogProbFunction);

    /// <inheritdoc />
    public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var logits = (Tensor)vars[0];
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

        ctx.save_for_backward([logits, targetIds, logSumExp]);
        ctx.save_data("temperature", temperature);
        ctx.save_data("chunkRows", chunkRows);
        ctx.save_data("overwriteLogits", overwriteLogits);

        // The saved tensors are committed after forward returns, so they must outlive this scope.
        logSumExp.MoveToOuterDisposeScope();
        if (sink is not null)
        {
            sink.Entropy = entropy!.view(batch, time).MoveToOuterDisposeScope();
        }

        return logProbs.view(batch, time).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor grad_output)
    {
        using var scope = NewDisposeScope();
        var saved = ctx.get_saved_variables();
        var logits = saved[0];
        var targetIds = saved[1];
        var logSumExp = saved[2];
        double temperature = (double)ctx.get_data("temperature");
        long chunkRows = (long)ctx.get_data("chunkRows");
        bool overwriteLogits = (bool)ctx.get_data("overwriteLogits");

        long batch = logits.shape[0];
        long time = logits.shape[1];
        long vocabulary = logits.shape[2];
        var compute = logSumExp.dtype;
        bool flat = RowChunks.RowsAreFlat(logits);

        // Overwriting: the gradient is written into the logits' own storage, chunk by chunk, and handed back as the gradient.
        var grad = overwriteLogits ? logits : empty(logits.shape, logits.dtype, logits.device);
        var gradRows = overwriteLogits ? null : grad.view(batch * time, vocabulary);
        var upstream = grad_output.reshape(batch * time).to(compute);
        foreach (var (start, count) in RowChunks.Plan(batch, time, chunkRows, flat))
        {
            using var chunkScope = NewDisposeScope();
            var chunk = RowChunks.RowView(logits, start, count, flat);
            var destination = gradRows?.narrow(0, start, count) ?? chunk;

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
                temperature);
            if (logits.dtype != compute)
            {
                destination.copy_(work);
            }
        }

        return [grad.MoveToOuterDisposeScope(), null!, null!, null!, null!, null!];
    }
}
