using TorchSharp;
using static TorchSharp.torch;

namespace Vepa.Grpo;

/// <summary>
/// Per-token log-probabilities log π(target) = z[target] − logsumexp(z) with z = logits / τ, computed in row chunks so
/// the full [B, T, V] log-softmax (and its gradient temporaries) never exist.
/// </summary>
/// <remarks>
/// <para><b>Memory.</b> A row is one token position; the B·T rows are processed <c>chunkSize</c> at a time. Beyond the
/// inputs and outputs, the forward pass holds one chunk of float32 logits (two with entropy) and keeps only the per-row
/// logsumexp [B, T] for backward. <see cref="FromLogits(Tensor, Tensor, double, int?, bool)"/>'s backward writes the logits'
/// gradient chunk by chunk into one [B, T, V] tensor (the gradient itself; float32 and float64 need no other
/// temporary, float16/bfloat16 one float32 chunk). <see cref="FromHiddenStates(Tensor, Tensor, Tensor, Tensor?, double, int?, bool)"/>
/// never forms the [B, T, V] logits at all: its gradients are [B, T, H] and [V, H].</para>
/// <para><b>Default chunk.</b> <see cref="FromLogits(Tensor, Tensor, double, int?, bool)"/>: 8 MiB of float32 logits per chunk on
/// the CPU (64 rows at V = 32768; the chunk's elementwise passes then run in cache) and 64 MiB on other devices (512
/// rows at V = 32768). <see cref="FromHiddenStates(Tensor, Tensor, Tensor, Tensor?, double, int?, bool)"/>: 64 MiB, and at least
/// 256 rows, since every chunk reads the whole weight.</para>
/// <para><b>Precision.</b> float32 and float64 inputs are computed in their own dtype. float16/bfloat16 inputs are
/// upcast to float32 chunk by chunk for logsumexp and softmax; the log-probs (and entropy) are float32 and the input
/// gradients come back in the inputs' dtype.</para>
/// <para><b>Non-finite logits.</b> A row (token position) whose logits hold NaN or +∞ gets a NaN log-prob, a NaN entropy
/// and a NaN gradient row; other rows are unaffected. −∞ logits are allowed (a masked vocabulary entry): they have
/// probability 0; if the target's logit is −∞ its log-prob is −∞; a row whose logits are all −∞ gets NaN.</para>
/// <para><b>Validation cost.</b> Besides shape, dtype and device checks, target ids are checked to lie in [0, V) with one
/// min/max reduction over the B·T ids, which on a GPU is one device-to-host synchronisation per call.</para>
/// <para><b>Lifetime.</b> Inputs are never disposed. Results belong to the caller's dispose scope. The gradient tensors
/// that backward returns stay referenced by TorchSharp wrappers until the dispose scope that is current when backward
/// runs closes (or until the garbage collector finalises them when there is none). So with
/// <see cref="FromLogits(Tensor, Tensor, double, int?, bool)"/> on logits that come from a module (the usual case), their
/// [B, T, V] gradient stays allocated until that scope closes rather than until the LM head's backward has consumed it.
/// Leaf inputs (a parameter, or logits with requires_grad set by the caller) receive the gradient in <c>.grad</c>
/// without a copy. The backward passes are not themselves differentiable (no double backward). Thread-safe: the
/// functions keep no state.</para>
/// </remarks>
public static class TokenLogProbs
{
    /// <summary>Computes log p(target) per token from logits.</summary>
    /// <param name="logits">The logits [B, T, V], float16, bfloat16, float32 or float64. Need not be contiguous (a slice <c>logits[:, :-1, :]</c> is read without a copy).</param>
    /// <param name="targets">The target token ids [B, T], int64 or int32, each in [0, V), on the device of <paramref name="logits"/>.</param>
    /// <param name="temperature">The sampling temperature τ &gt; 0; the logits are divided by it.</param>
    /// <param name="chunkSize">The rows (token positions) per chunk; <see langword="null"/> chooses 8 MiB of float32 logits per chunk on the CPU, 64 MiB on other devices.</param>
    /// <param name="shift">When <see langword="true"/>, <paramref name="logits"/> are the model's full output [B, T + 1, V] and position t predicts <c>targets[:, t]</c>: the last position is ignored (it gets a zero gradient), as TRL's <c>logits[:, :-1, :]</c> slice does, without the slice's extra logits-sized zero gradient.</param>
    /// <returns>The log-probs [B, T]: float32 for float16/bfloat16 logits, else the logits' dtype. Differentiable w.r.t. <paramref name="logits"/>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="logits"/> or <paramref name="targets"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">A shape, dtype or device is wrong.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="temperature"/> is not finite and positive, <paramref name="chunkSize"/> is less than 1, or a target id is outside [0, V).</exception>
    public static Tensor FromLogits(Tensor logits, Tensor targets, double temperature = 1.0, int? chunkSize = null, bool shift = false)
        => LogitsCore(logits, targets, temperature, chunkSize, sink: null, overwriteLogits: false, shift);

    /// <summary>Computes log p(target) and the entropy of the predicted distribution per token from logits.</summary>
    /// <param name="logits">The logits [B, T, V], float16, bfloat16, float32 or float64. Need not be contiguous.</param>
    /// <param name="targets">The target token ids [B, T], int64 or int32, each in [0, V), on the device of <paramref name="logits"/>.</param>
    /// <param name="entropy">When this method returns, the entropy −Σ_v p_v log p_v of softmax(logits / τ) per token, [B, T], in the dtype of the result. With <paramref name="entropyGradient"/> it is differentiable w.r.t. the inputs (backward adds −p (log p + H) / τ chunk by chunk, with one more chunk-sized buffer); otherwise it carries no gradient and costs nothing in backward.</param>
    /// <param name="temperature">The sampling temperature τ &gt; 0; the logits are divided by it.</param>
    /// <param name="chunkSize">The rows (token positions) per chunk; <see langword="null"/> chooses 8 MiB of float32 logits per chunk on the CPU, 64 MiB on other devices.</param>
    /// <returns>The log-probs [B, T]: float32 for float16/bfloat16 logits, else the logits' dtype. Differentiable w.r.t. <paramref name="logits"/>.</returns>
    /// <param name="shift">When <see langword="true"/>, <paramref name="logits"/> are the model's full output [B, T + 1, V] and position t predicts <c>targets[:, t]</c>: the last position is ignored (it gets a zero gradient), as TRL's <c>logits[:, :-1, :]</c> slice does, without the slice's extra logits-sized zero gradient.</param>
    /// <remarks>The entropy costs one more exp pass and one more chunk of temporary memory in the forward pass.</remarks>
    /// <exception cref="ArgumentNullException"><paramref name="logits"/> or <paramref name="targets"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">A shape, dtype or device is wrong.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="temperature"/> is not finite and positive, <paramref name="chunkSize"/> is less than 1, or a target id is outside [0, V).</exception>
    /// <param name="entropyGradient">Whether <paramref name="entropy"/> is differentiable (an entropy bonus needs it).</param>
    public static Tensor FromLogits(Tensor logits, Tensor targets, out Tensor entropy, double temperature = 1.0, int? chunkSize = null, bool shift = false, bool entropyGradient = false)
    {
        var sink = new EntropySink { Differentiable = entropyGradient };
        var logProbs = LogitsCore(logits, targets, temperature, chunkSize, sink, overwriteLogits: false, shift);
        entropy = sink.Entropy!;
        return logProbs;
    }

    /// <summary>
    /// Computes log p(target) per token from logits, like <see cref="FromLogits(Tensor, Tensor, double, int?, bool)"/>, but lets the
    /// backward pass write the gradient w.r.t. the logits into the logits' own storage: the logits are destroyed by
    /// backward, and the forward + backward pass needs no [B, T, V] memory beyond the logits themselves.
    /// </summary>
    /// <param name="logits">The logits [B, T, V], float16, bfloat16, float32 or float64. Need not be contiguous. After backward they hold their own gradient.</param>
    /// <param name="targets">The target token ids [B, T], int64 or int32, each in [0, V), on the device of <paramref name="logits"/>.</param>
    /// <param name="temperature">The sampling temperature τ &gt; 0; the logits are divided by it.</param>
    /// <param name="chunkSize">The rows (token positions) per chunk; <see langword="null"/> chooses 8 MiB of float32 logits per chunk on the CPU, 64 MiB on other devices.</param>
    /// <param name="shift">When <see langword="true"/>, <paramref name="logits"/> are the model's full output [B, T + 1, V] and position t predicts <c>targets[:, t]</c>: the last position is ignored (it gets a zero gradient), as TRL's <c>logits[:, :-1, :]</c> slice does, without the slice's extra logits-sized zero gradient.</param>
    /// <returns>The log-probs [B, T]: float32 for float16/bfloat16 logits, else the logits' dtype. Differentiable w.r.t. <paramref name="logits"/>.</returns>
    /// <remarks>
    /// <para>Use it when the logits are an intermediate that nothing else reads after the loss (the usual case: an LM head's
    /// output used only for these log-probs). This is the trade Liger-Kernel makes in its fused cross-entropy: with the plain
    /// function, the gradient is a second tensor as large as the logits. The forward pass does not modify the logits; only
    /// backward does, so calling it under <c>no_grad</c> or never calling backward leaves them intact.</para>
    /// <para>Pass the model's full logits with <paramref name="shift"/> rather than a slice <c>logits[:, :-1, :]</c>: autograd's
    /// backward of a slice allocates a zero gradient as large as the whole logits, which breaks this method's memory promise;
    /// with <paramref name="shift"/> the last position's gradient is written as zeros into its own storage.</para>
    /// <para>Do not read the logits after backward, and do not let another differentiable operation consume them: its own
    /// backward would see the overwritten values. When the logits are a leaf that requires grad, their <c>.grad</c> shares
    /// their storage.</para>
    /// </remarks>
    /// <exception cref="ArgumentNullException"><paramref name="logits"/> or <paramref name="targets"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">A shape, dtype or device is wrong.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="temperature"/> is not finite and positive, <paramref name="chunkSize"/> is less than 1, or a target id is outside [0, V).</exception>
    public static Tensor FromLogitsOverwritingLogits(Tensor logits, Tensor targets, double temperature = 1.0, int? chunkSize = null, bool shift = false)
        => LogitsCore(logits, targets, temperature, chunkSize, sink: null, overwriteLogits: true, shift);

    /// <summary>
    /// Computes log p(target) per token from the last hidden states and the LM-head weight, fused: each row chunk forms its
    /// logits h·Wᵀ (+ b) and discards them, so the [B, T, V] logits never exist, in the forward or the backward pass.
    /// </summary>
    /// <param name="hidden">The hidden states [B, T, H], float16, bfloat16, float32 or float64.</param>
    /// <param name="weight">The LM-head weight [V, H], in the dtype and on the device of <paramref name="hidden"/>.</param>
    /// <param name="targets">The target token ids [B, T], int64 or int32, each in [0, V), on the device of <paramref name="hidden"/>.</param>
    /// <param name="bias">The LM-head bias [V], or <see langword="null"/> for none.</param>
    /// <param name="temperature">The sampling temperature τ &gt; 0; the logits are divided by it.</param>
    /// <param name="chunkSize">The rows (token positions) per chunk; <see langword="null"/> chooses 64 MiB of float32 logits per chunk, at least 256 rows.</param>
    /// <param name="shift">When <see langword="true"/>, <paramref name="hidden"/> is [B, T + 1, H] and position t predicts <c>targets[:, t]</c>: the last position is ignored (it gets a zero gradient), so callers need not slice.</param>
    /// <returns>The log-probs [B, T]: float32 for float16/bfloat16 inputs, else their dtype. Differentiable w.r.t. <paramref name="hidden"/>, <paramref name="weight"/> and <paramref name="bias"/> (the gradients of those that require one).</returns>
    /// <remarks>
    /// Each chunk's logits are computed in the inputs' dtype (as an LM head would), then upcast for the softmax
    /// statistics. Backward recomputes them; the weight and bias gradients are accumulated over chunks in float32 for
    /// float16/bfloat16 inputs (a [V, H] float32 accumulator), else in the inputs' dtype.
    /// </remarks>
    /// <exception cref="ArgumentNullException"><paramref name="hidden"/>, <paramref name="weight"/> or <paramref name="targets"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">A shape, dtype or device is wrong, or H differs between <paramref name="hidden"/> and <paramref name="weight"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="temperature"/> is not finite and positive, <paramref name="chunkSize"/> is less than 1, or a target id is outside [0, V).</exception>
    public static Tensor FromHiddenStates(
        Tensor hidden, Tensor weight, Tensor targets, Tensor? bias = null, double temperature = 1.0, int? chunkSize = null, bool shift = false)
        => HiddenCore(hidden, weight, targets, bias, temperature, chunkSize, sink: null, shift);

    /// <summary>Computes log p(target) and the entropy per token from the last hidden states and the LM-head weight, fused.</summary>
    /// <param name="hidden">The hidden states [B, T, H], float16, bfloat16, float32 or float64.</param>
    /// <param name="weight">The LM-head weight [V, H], in the dtype and on the device of <paramref name="hidden"/>.</param>
    /// <param name="targets">The target token ids [B, T], int64 or int32, each in [0, V), on the device of <paramref name="hidden"/>.</param>
    /// <param name="entropy">When this method returns, the entropy −Σ_v p_v log p_v of softmax(logits / τ) per token, [B, T], in the dtype of the result. With <paramref name="entropyGradient"/> it is differentiable w.r.t. the inputs (backward adds −p (log p + H) / τ chunk by chunk, with one more chunk-sized buffer); otherwise it carries no gradient and costs nothing in backward.</param>
    /// <param name="bias">The LM-head bias [V], or <see langword="null"/> for none.</param>
    /// <param name="temperature">The sampling temperature τ &gt; 0; the logits are divided by it.</param>
    /// <param name="chunkSize">The rows (token positions) per chunk; <see langword="null"/> chooses 64 MiB of float32 logits per chunk, at least 256 rows.</param>
    /// <param name="shift">When <see langword="true"/>, <paramref name="hidden"/> is [B, T + 1, H] and position t predicts <c>targets[:, t]</c>: the last position is ignored (it gets a zero gradient), so callers need not slice.</param>
    /// <param name="entropyGradient">Whether <paramref name="entropy"/> is differentiable (an entropy bonus needs it).</param>
    /// <returns>The log-probs [B, T], as <see cref="FromHiddenStates(Tensor, Tensor, Tensor, Tensor?, double, int?, bool)"/> returns them.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="hidden"/>, <paramref name="weight"/> or <paramref name="targets"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">A shape, dtype or device is wrong, or H differs between <paramref name="hidden"/> and <paramref name="weight"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="temperature"/> is not finite and positive, <paramref name="chunkSize"/> is less than 1, or a target id is outside [0, V).</exception>
    public static Tensor FromHiddenStates(
        Tensor hidden, Tensor weight, Tensor targets, out Tensor entropy, Tensor? bias = null, double temperature = 1.0, int? chunkSize = null, bool shift = false, bool entropyGradient = false)
    {
        var sink = new EntropySink { Differentiable = entropyGradient };
        var logProbs = HiddenCore(hidden, weight, targets, bias, temperature, chunkSize, sink, shift);
        entropy = sink.Entropy!;
        return logProbs;
    }

    private static Tensor LogitsCore(
        Tensor logits, Tensor targets, double temperature, int? chunkSize, EntropySink? sink, bool overwriteLogits, bool shift)
    {
        TokenLogProbValidation.ValidateLogits(logits, targets, temperature, chunkSize, shift);
        long rows = targets.shape[0] * targets.shape[1];
        long chunkRows = RowChunks.ChunkRows(chunkSize, rows, logits.shape[2], logits.device_type, fused: false);

        using var scope = NewDisposeScope();
        var targetIds = targets.reshape(rows).to(ScalarType.Int64);

        // The inputs enter through a native view so that the gradient reaching a leaf's accumulator is a fresh view that
        // only libtorch references: the managed wrapper of the gradient our backward returns would otherwise make
        // libtorch copy it into .grad.
        var outputs = ChunkedLogitsLogProbFunction.apply(logits.view(logits.shape), targetIds, temperature, chunkRows, sink!, overwriteLogits, shift);
        if (sink is not null)
        {
            sink.Entropy = (outputs.Count > 1 ? outputs[1] : sink.Entropy!).MoveToOuterDisposeScope();
        }

        return outputs[0].MoveToOuterDisposeScope();
    }

    private static Tensor HiddenCore(
        Tensor hidden, Tensor weight, Tensor targets, Tensor? bias, double temperature, int? chunkSize, EntropySink? sink, bool shift)
    {
        TokenLogProbValidation.ValidateHiddenStates(hidden, weight, targets, bias, temperature, chunkSize, shift);
        long batch = targets.shape[0];
        long time = targets.shape[1];
        long rows = batch * time;
        long chunkRows = RowChunks.ChunkRows(chunkSize, rows, weight.shape[0], hidden.device_type, fused: true);

        using var scope = NewDisposeScope();
        // Shifted: the [B, T, H] prefix (one copy of the hidden states at most; the logits never exist).
        var used = shift ? hidden.narrow(1, 0, time) : hidden;
        var hiddenRows = used.reshape(rows, hidden.shape[2]);
        var targetIds = targets.reshape(rows).to(ScalarType.Int64);
        var outputs = FusedLinearLogProbFunction.apply(
            hiddenRows, weight.view(weight.shape), bias?.view(bias.shape)!, targetIds, temperature, chunkRows, sink!);
        if (sink is not null)
        {
            sink.Entropy = (outputs.Count > 1 ? outputs[1] : sink.Entropy!).view(batch, time).MoveToOuterDisposeScope();
        }

        return outputs[0].view(batch, time).MoveToOuterDisposeScope();
    }
}
