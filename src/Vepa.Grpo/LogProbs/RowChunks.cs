using TorchSharp;
using static TorchSharp.torch;

namespace Vepa.Grpo;

/// <summary>
/// Row chunking and the per-chunk arithmetic shared by the token log-prob kernels. A "row" is one token position
/// (b, t); a chunk is a run of consecutive rows whose [rows, V] logits exist at one time.
/// </summary>
internal static class RowChunks
{
    /// <summary>
    /// The default float32 logits per chunk of <see cref="TokenLogProbs.FromLogits(torch.Tensor, torch.Tensor, double, int?, bool)"/> on the CPU:
    /// 8 MiB (64 rows at V = 32768), small enough that the chunk's few elementwise passes run in the last-level cache.
    /// </summary>
    internal const long DefaultCpuChunkBytes = 8L * 1024 * 1024;

    /// <summary>The default float32 logits per chunk on other devices (GPUs): 64 MiB, so each kernel launch has plenty of work.</summary>
    internal const long DefaultDeviceChunkBytes = 64L * 1024 * 1024;

    /// <summary>
    /// The fewest default rows per chunk of the fused kernel: each chunk streams the whole [V, H] weight through a matmul,
    /// so chunks of a few rows would be bound by reading the weight.
    /// </summary>
    internal const long DefaultFusedMinimumRows = 256;

    /// <summary>Returns the rows per chunk: the caller's choice, or the default for the kernel and device, clamped to [1, rows].</summary>
    internal static long ChunkRows(int? chunkSize, long rows, long vocabulary, DeviceType device, bool fused)
    {
        long chosen;
        if (chunkSize is int requested)
        {
            chosen = requested;
        }
        else
        {
            long bytes = fused || device != DeviceType.CPU ? DefaultDeviceChunkBytes : DefaultCpuChunkBytes;
            chosen = Math.Max(1, bytes / (sizeof(float) * Math.Max(1, vocabulary)));
            if (fused)
            {
                chosen = Math.Max(chosen, DefaultFusedMinimumRows);
            }
        }

        return Math.Clamp(chosen, 1, Math.Max(1, rows));
    }

    /// <summary>Returns the dtype the softmax statistics are computed in: float32 for float16/bfloat16, else the input's.</summary>
    internal static ScalarType ComputeType(ScalarType input)
        => input is ScalarType.Float16 or ScalarType.BFloat16 ? ScalarType.Float32 : input;

    /// <summary>
    /// Returns whether the [B, T, V] tensor can be read as [B·T, V] rows without a copy (its first two dimensions merge).
    /// </summary>
    internal static bool RowsAreFlat(Tensor logits)
    {
        long b = logits.shape[0];
        long t = logits.shape[1];
        return b <= 1 || t <= 1 || logits.stride(0) == logits.stride(1) * t;
    }

    /// <summary>
    /// Plans the chunks over the rows of a [B, T, V] tensor. When the rows are not flat a chunk never crosses a
    /// sequence boundary, so each chunk is a view of one sequence (no copy of a sliced <c>logits[:, :-1, :]</c>).
    /// </summary>
    internal static List<(long Start, long Count)> Plan(long batch, long time, long chunkRows, bool flat)
    {
        var chunks = new List<(long Start, long Count)>();
        if (flat)
        {
            long rows = batch * time;
            for (long start = 0; start < rows; start += chunkRows)
            {
                chunks.Add((start, Math.Min(chunkRows, rows - start)));
            }

            return chunks;
        }

        for (long b = 0; b < batch; b++)
        {
            for (long t = 0; t < time; t += chunkRows)
            {
                chunks.Add((b * time + t, Math.Min(chunkRows, time - t)));
            }
        }

        return chunks;
    }

    /// <summary>Returns the [count, V] view of rows start..start+count of a [B, T, V] tensor (a chunk from <see cref="Plan"/>).</summary>
    internal static Tensor RowView(Tensor logits, long start, long count, bool flat)
    {
        long time = logits.shape[1];
        if (flat)
        {
            using var rows = logits.reshape(logits.shape[0] * time, logits.shape[2]);
            return rows.narrow(0, start, count);
        }

        using var sequence = logits.select(0, start / time);
        return sequence.narrow(0, start % time, count);
    }

    /// <summary>
    /// Returns logits/τ of one chunk in the compute dtype; <paramref name="owned"/> tells whether the result is a private
    /// copy that may be overwritten (false only when the chunk is the caller's own memory, unscaled).
    /// </summary>
    internal static Tensor Scaled(Tensor chunk, ScalarType compute, double temperature, out bool owned)
    {
        if (chunk.dtype != compute)
        {
            var z = chunk.to(compute);
            if (temperature != 1.0)
            {
                z.div_(temperature);
            }

            owned = true;
            return z;
        }

        if (temperature != 1.0)
        {
            owned = true;
            return chunk.div(temperature);
        }

        owned = false;
        return chunk;
    }

    /// <summary>
    /// Forward statistics of one chunk of scaled logits z [n, V]: writes log p(target) = z[target] − logsumexp(z),
    /// logsumexp(z) and, when <paramref name="entropyOut"/> is given, the entropy −Σ p log p, into the [n] outputs.
    /// Overwrites z when <paramref name="owned"/>. A row holding NaN or +∞ yields NaN; −∞ entries have probability 0.
    /// </summary>
    internal static void Forward(Tensor z, bool owned, Tensor targetIndex, Tensor logProbOut, Tensor logSumExpOut, Tensor? entropyOut)
    {
        using var scope = NewDisposeScope();
        var target = z.gather(1, targetIndex).squeeze(1);
        var max = z.amax([1], keepdim: true);
        var shifted = owned ? z.sub_(max) : z.sub(max);
        Tensor sum;
        if (entropyOut is null)
        {
            sum = shifted.exp_().sum(1);
        }
        else
        {
            // H = log S − Σ e^y · y / S with y = z − max and S = Σ e^y; 0 · (−∞) = NaN is a zero-probability term.
            var e = shifted.exp();
            sum = e.sum(1);
            var weighted = e.mul_(shifted).nan_to_num_(0.0, 0.0, 0.0).sum(1);
            entropyOut.copy_(sum.log() - weighted.div_(sum));
        }

        var lse = sum.log_().add_(max.squeeze(1));
        logSumExpOut.copy_(lse);
        logProbOut.copy_(target.sub_(lse));
    }

    /// <summary>
    /// Gradient of one chunk: dL/dz_v = (onehot(target)_v − softmax(z)_v) · g / τ, with softmax(z) = exp(z − lse), plus, when
    /// <paramref name="entropyGradient"/> is given, the entropy's part g_H · dH/dz_v = −g_H · p_v (log p_v + H) / τ.
    /// Works in place: z [n, V] (which must be private memory) is overwritten with the gradient; the entropy's part needs one
    /// more [n, V] buffer (p) for the chunk.
    /// </summary>
    /// <param name="z">The chunk's scaled logits, overwritten with the gradient.</param>
    /// <param name="logSumExp">The rows' logsumexp, [n].</param>
    /// <param name="targetIndex">The target ids, [n, 1].</param>
    /// <param name="gradOutput">dL/dlog p(target) per row, [n].</param>
    /// <param name="temperature">τ.</param>
    /// <param name="entropy">The rows' entropy H, [n] (with <paramref name="entropyGradient"/>).</param>
    /// <param name="entropyGradient">dL/dH per row, [n], or <see langword="null"/> when the entropy does not reach the loss.</param>
    internal static void Backward(Tensor z, Tensor logSumExp, Tensor targetIndex, Tensor gradOutput, double temperature, Tensor? entropy = null, Tensor? entropyGradient = null)
    {
        using var scope = NewDisposeScope();
        var scale = gradOutput.div(temperature).unsqueeze(1);
        if (entropyGradient is null)
        {
            z.sub_(logSumExp.unsqueeze(1)).exp_();
            z.mul_(scale.neg()).scatter_add_(1, targetIndex, scale);
            return;
        }

        // dL/dz_v = g·onehot_v − p_v·(g + g_H·(H + log p_v)), all over τ. log p is clamped at −1000, where p is exactly 0 in
        // float32 and float64, so a −∞ logit (p = 0) gives 0 rather than 0·∞ = NaN; a NaN row stays NaN.
        var entropyScale = entropyGradient.div(temperature).unsqueeze(1);
        var logP = z.sub_(logSumExp.unsqueeze(1)).clamp_min_(-1000.0);
        var p = logP.exp();
        logP.mul_(entropyScale).add_(scale + (entropyScale * entropy!.unsqueeze(1))).mul_(p).neg_();
        logP.scatter_add_(1, targetIndex, scale);
    }
}
