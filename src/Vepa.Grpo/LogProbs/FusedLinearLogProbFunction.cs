using TorchSharp;
using static TorchSharp.torch;

namespace Vepa.Grpo;

/// <summary>
/// log p(target) from hidden states and the LM-head weight without the full logits: each row chunk computes its
/// logits h·Wᵀ (+ b), its logsumexp and its target logit. Backward recomputes each chunk's logits and accumulates the
/// gradients of hidden, weight and bias chunk by chunk.
/// </summary>
/// <remarks>
/// Arguments of <c>apply</c>: hidden [N, H], weight [V, H], bias [V] or <see langword="null"/> (all one float dtype),
/// target ids [N] (int64), temperature (double), rows per chunk (long), an <see cref="EntropySink"/> or
/// <see langword="null"/>. Returns the log-probs [N] and, with a differentiable sink, the entropy [N] as a second output
/// (its gradient −p (log p + H) is added in backward); otherwise the entropy goes to the sink without gradient.
/// </remarks>
internal sealed class FusedLinearLogProbFunction : autograd.MultiTensorFunction<FusedLinearLogProbFunction>
{
    /// <inheritdoc />
    public override string Name => nameof(FusedLinearLogProbFunction);

    /// <inheritdoc />
    public override List<Tensor> forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var hidden = (Tensor)vars[0];
        var weight = (Tensor)vars[1];
        var bias = vars[2] as Tensor;
        var targetIds = (Tensor)vars[3];
        double temperature = (double)vars[4];
        long chunkRows = (long)vars[5];
        var sink = vars[6] as EntropySink;

        long rows = hidden.shape[0];
        var compute = RowChunks.ComputeType(hidden.dtype);

        using var scope = NewDisposeScope();
        var logProbs = empty([rows], compute, hidden.device);
        var logSumExp = empty([rows], compute, hidden.device);
        var entropy = sink is null ? null : empty([rows], compute, hidden.device);
        foreach (var (start, count) in RowChunks.Plan(1, rows, chunkRows, flat: true))
        {
            using var chunkScope = NewDisposeScope();
            var z = ChunkLogits(hidden.narrow(0, start, count), weight, bias, compute, temperature);
            RowChunks.Forward(
                z,
                owned: true,
                targetIds.narrow(0, start, count).unsqueeze(1),
                logProbs.narrow(0, start, count),
                logSumExp.narrow(0, start, count),
                entropy?.narrow(0, start, count));
        }

        bool entropyGradient = sink?.Differentiable == true;
        ctx.save_for_backward([hidden, weight, bias!, targetIds, logSumExp, entropyGradient ? entropy!.clone().MoveToOuterDisposeScope() : null!]);
        if (entropyGradient)
        {
            // See ChunkedLogitsLogProbFunction: undefined output gradients stay undefined.
            ctx.set_materialize_grads(false);
        }
        ctx.save_data("temperature", temperature);
        ctx.save_data("chunkRows", chunkRows);
        ctx.save_data("needHidden", hidden.requires_grad);
        ctx.save_data("needWeight", weight.requires_grad);
        ctx.save_data("needBias", bias?.requires_grad == true);

        logSumExp.MoveToOuterDisposeScope();
        if (sink is null)
        {
            return [logProbs.MoveToOuterDisposeScope()];
        }

        if (!entropyGradient)
        {
            sink.Entropy = entropy!.MoveToOuterDisposeScope();
            return [logProbs.MoveToOuterDisposeScope()];
        }

        return [logProbs.MoveToOuterDisposeScope(), entropy!.MoveToOuterDisposeScope()];
    }

    /// <inheritdoc />
    public override List<Tensor> backward(autograd.AutogradContext ctx, List<Tensor> grad_outputs)
    {
        using var scope = NewDisposeScope();
        var saved = ctx.get_saved_variables();
        var hidden = saved[0];
        var weight = saved[1];
        var bias = saved[2];
        var targetIds = saved[3];
        var logSumExp = saved[4];
        var entropy = saved.Count > 5 && saved[5] is { IsInvalid: false } savedEntropy ? savedEntropy : null;
        double temperature = (double)ctx.get_data("temperature");
        long chunkRows = (long)ctx.get_data("chunkRows");
        bool needHidden = (bool)ctx.get_data("needHidden");
        bool needWeight = (bool)ctx.get_data("needWeight");
        bool needBias = (bool)ctx.get_data("needBias");

        long rows = hidden.shape[0];
        var dtype = hidden.dtype;
        var compute = logSumExp.dtype;
        var upstream = grad_outputs[0] is { IsInvalid: false } g0 ? g0.reshape(rows).to(compute) : zeros([rows], compute, hidden.device);
        var entropyUpstream = entropy is not null && grad_outputs.Count > 1 && grad_outputs[1] is { IsInvalid: false } gh
            ? gh.reshape(rows).to(compute)
            : null;

        var gradHidden = needHidden ? empty(hidden.shape, dtype, hidden.device) : null;

        // Weight and bias gradients are sums over chunks: accumulate in the compute dtype (float32 for bf16/fp16).
        var gradWeight = needWeight ? zeros(weight.shape, compute, weight.device) : null;
        var gradBias = needBias ? zeros(bias.shape, compute, bias.device) : null;
        foreach (var (start, count) in RowChunks.Plan(1, rows, chunkRows, flat: true))
        {
            using var chunkScope = NewDisposeScope();
            var h = hidden.narrow(0, start, count);
            var g = ChunkLogits(h, weight, bias, compute, temperature);
            RowChunks.Backward(
                g,
                logSumExp.narrow(0, start, count),
                targetIds.narrow(0, start, count).unsqueeze(1),
                upstream.narrow(0, start, count),
                temperature,
                entropy?.narrow(0, start, count),
                entropyUpstream?.narrow(0, start, count));

            // g = dL/dlogits of the chunk [n, V]; logits = h·Wᵀ + b.
            if (gradHidden is not null)
            {
                using var gIn = g.dtype == dtype ? g.alias() : g.to(dtype);
                gradHidden.narrow(0, start, count).copy_(gIn.mm(weight));
            }

            if (gradWeight is not null)
            {
                using var hCompute = h.dtype == compute ? h.alias() : h.to(compute);
                gradWeight.addmm_(g.t(), hCompute, 1.0f, 1.0f);
            }

            gradBias?.add_(g.sum(0L));
        }

        var results = new List<Tensor>
        {
            gradHidden?.MoveToOuterDisposeScope()!,
            ToOutput(gradWeight, dtype)!,
            ToOutput(gradBias, dtype)!,
            null!,
            null!,
            null!,
            null!,
        };
        return results;
    }

    /// <summary>Returns the chunk's logits h·Wᵀ (+ b), divided by τ, as a private tensor in the compute dtype.</summary>
    private static Tensor ChunkLogits(Tensor h, Tensor weight, Tensor? bias, ScalarType compute, double temperature)
    {
        var logits = bias is null ? h.mm(weight.t()) : addmm(bias, h, weight.t(), 1.0f, 1.0f);
        if (logits.dtype != compute)
        {
            using var lowPrecision = logits;
            logits = lowPrecision.to(compute);
        }

        if (temperature != 1.0)
        {
            logits.div_(temperature);
        }

        return logits;
    }

    private static Tensor? ToOutput(Tensor? accumulated, ScalarType dtype)
        => accumulated is null ? null : (accumulated.dtype == dtype ? accumulated : accumulated.to(dtype)).MoveToOuterDisposeScope();
}
