using TorchSharp;
using static TorchSharp.torch;

namespace Vepa.Models;

/// <summary>
/// Qwen2-VL's multimodal rotary positions (M-RoPE): the 3-row (temporal, height, width) position ids of a prompt with images
/// (Hugging Face's <c>get_rope_index</c>), and the rotary cos/sin they give with <c>mrope_section</c>.
/// </summary>
public static class Qwen2VLPositions
{
    /// <summary>
    /// Computes the 3-row position ids: text tokens advance all three rows together; the tokens of an image (announced by a
    /// vision-start token followed by image tokens) get (t, h, w) grid positions offset by the position after the preceding text,
    /// and the text after an image starts at the largest position so far + 1. Padding (mask 0) gets position 1.
    /// </summary>
    /// <param name="inputIds">Token ids [B, L], integer.</param>
    /// <param name="imageGridThw">The grids [N, 3] of the images in order (batch row by batch row), or <see langword="null"/> for text only.</param>
    /// <param name="attentionMask">The mask [B, L] (1 = token, 0 = padding), or <see langword="null"/> for none.</param>
    /// <param name="imageTokenId">The <c>&lt;|image_pad|&gt;</c> id (<c>image_token_id</c>).</param>
    /// <param name="visionStartTokenId">The <c>&lt;|vision_start|&gt;</c> id (<c>vision_start_token_id</c>).</param>
    /// <param name="spatialMergeSize">The vision tower's spatial merge size.</param>
    /// <returns>Position ids [3, B, L] int64 and the rope deltas [B] int64: max position + 1 − L per row, so that a token appended at cache position p gets position p + delta.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="inputIds"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">A shape is wrong, or the prompts announce a different number of images than <paramref name="imageGridThw"/> holds, or an image's tokens do not fit its grid.</exception>
    public static (Tensor PositionIds, Tensor RopeDeltas) GetRopeIndex(
        Tensor inputIds, Tensor? imageGridThw, Tensor? attentionMask, long imageTokenId, long visionStartTokenId, int spatialMergeSize)
    {
        ArgumentNullException.ThrowIfNull(inputIds);
        if (inputIds.dim() != 2)
        {
            throw new ArgumentException($"inputIds must be [B, L]; got [{string.Join(", ", inputIds.shape)}].", nameof(inputIds));
        }

        long batch = inputIds.shape[0], length = inputIds.shape[1];
        if (attentionMask is not null && !attentionMask.shape.SequenceEqual([batch, length]))
        {
            throw new ArgumentException($"attentionMask must be [B, L] = [{batch}, {length}]; got [{string.Join(", ", attentionMask.shape)}].", nameof(attentionMask));
        }

        var grids = imageGridThw is null ? [] : Qwen2VLVisionTransformer.ReadGrids(imageGridThw, spatialMergeSize);
        var ids = inputIds.to(ScalarType.Int64).cpu().data<long>().ToArray();
        var mask = attentionMask?.to(ScalarType.Int64).cpu().data<long>().ToArray();
        var positions = new long[3 * batch * length];
        Array.Fill(positions, 1L);
        var deltas = new long[batch];
        int image = 0;
        for (long b = 0; b < batch; b++)
        {
            var real = new List<long>();
            var tokens = new List<long>();
            for (long i = 0; i < length; i++)
            {
                if (mask is null || mask[(b * length) + i] == 1)
                {
                    real.Add(i);
                    tokens.Add(ids[(b * length) + i]);
                }
            }

            // One column (t, h, w) per real token.
            var columns = new List<(long T, long H, long W)>(tokens.Count);
            int announced = 0;
            for (int i = 0; i + 1 < tokens.Count; i++)
            {
                if (tokens[i] == visionStartTokenId && tokens[i + 1] == imageTokenId)
                {
                    announced++;
                }
            }

            int start = 0;
            for (int k = 0; k < announced; k++)
            {
                int end = tokens.IndexOf(imageTokenId, start);
                if (image >= grids.Length)
                {
                    throw new ArgumentException($"The prompts announce more images (row {b} needs image #{image + 1}) than imageGridThw holds ({grids.Length}).", nameof(imageGridThw));
                }

                var (t, h, w) = grids[image++];
                long gh = h / spatialMergeSize, gw = w / spatialMergeSize;
                long next = columns.Count == 0 ? 0 : columns.Max(c => Math.Max(c.T, Math.Max(c.H, c.W))) + 1;
                for (int i = start; i < end; i++, next++)
                {
                    columns.Add((next, next, next));
                }

                for (long tt = 0; tt < t; tt++)
                {
                    for (long hh = 0; hh < gh; hh++)
                    {
                        for (long ww = 0; ww < gw; ww++)
                        {
                            columns.Add((next + tt, next + hh, next + ww));
                        }
                    }
                }

                start = end + (int)(t * gh * gw);
                if (start > tokens.Count || tokens.Skip(end).Take((int)(t * gh * gw)).Any(x => x != imageTokenId))
                {
                    throw new ArgumentException(
                        $"Row {b}: image #{image} has grid ({t}, {h}, {w}) and needs {t * gh * gw} consecutive image tokens (id {imageTokenId}) at index {end}; the prompt has fewer.", nameof(inputIds));
                }
            }

            if (start < tokens.Count)
            {
                long next = columns.Count == 0 ? 0 : columns.Max(c => Math.Max(c.T, Math.Max(c.H, c.W))) + 1;
                for (int i = start; i < tokens.Count; i++, next++)
                {
                    columns.Add((next, next, next));
                }
            }

            long max = 0;
            for (int i = 0; i < real.Count; i++)
            {
                var (t, h, w) = columns[i];
                positions[(0 * batch * length) + (b * length) + real[i]] = t;
                positions[(1 * batch * length) + (b * length) + real[i]] = h;
                positions[(2 * batch * length) + (b * length) + real[i]] = w;
                max = Math.Max(max, Math.Max(t, Math.Max(h, w)));
            }

            deltas[b] = real.Count == 0 ? 1 - length : max + 1 - length;
        }

        if (image != grids.Length)
        {
            throw new ArgumentException($"imageGridThw holds {grids.Length} images but the prompts announce {image} (a vision-start token followed by an image token).", nameof(imageGridThw));
        }

        var device = inputIds.device;
        return (tensor(positions, [3, batch, length], device: device), tensor(deltas, device: device));
    }

    /// <summary>
    /// The M-RoPE cos/sin [B, L, d] for 3-row positions: rotary frequency j (of d/2, θ = <paramref name="theta"/>) turns with the
    /// temporal, height or width row as <paramref name="mropeSection"/> assigns it (the first section's frequencies the temporal row,
    /// and so on), repeated over both halves of the head as Hugging Face's <c>apply_multimodal_rotary_pos_emb</c> does.
    /// </summary>
    /// <param name="positionIds">Positions [3, B, L], integer.</param>
    /// <param name="mropeSection">Frequencies per row (t, h, w), summing to d/2; for example [16, 24, 24] for d = 128.</param>
    /// <param name="headDim">The head size d, even.</param>
    /// <param name="theta">The RoPE base (<c>rope_theta</c>).</param>
    /// <param name="dtype">Float32 (as Hugging Face) or Float64.</param>
    /// <returns>cos and sin [B, L, d] in <paramref name="dtype"/>, for <see cref="QwenDecoder.Forward"/>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="positionIds"/> or <paramref name="mropeSection"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">The positions are not [3, B, L], the sections do not have 3 entries summing to d/2, or the dtype is not Float32/Float64.</exception>
    public static (Tensor Cos, Tensor Sin) MultimodalCosSin(Tensor positionIds, IReadOnlyList<int> mropeSection, int headDim, double theta, ScalarType dtype = ScalarType.Float32)
    {
        ArgumentNullException.ThrowIfNull(positionIds);
        ArgumentNullException.ThrowIfNull(mropeSection);
        if (positionIds.dim() != 3 || positionIds.shape[0] != 3)
        {
            throw new ArgumentException($"positionIds must be [3, B, L]; got [{string.Join(", ", positionIds.shape)}].", nameof(positionIds));
        }

        if (mropeSection.Count != 3 || mropeSection.Any(s => s < 0) || mropeSection.Sum() != headDim / 2)
        {
            throw new ArgumentException($"mrope_section must have 3 non-negative entries summing to head_dim / 2 = {headDim / 2}; got [{string.Join(", ", mropeSection)}].", nameof(mropeSection));
        }

        using var scope = NewDisposeScope();
        var rowOf = mropeSection.SelectMany((count, row) => Enumerable.Repeat((long)row, count)).ToArray();
        var inverse = new QwenRotaryEmbedding(headDim, theta).InverseFrequencies(dtype, positionIds.device);
        var selected = positionIds.index_select(0, tensor(rowOf, device: positionIds.device)).to(dtype); // [d/2, B, L]
        var angles = selected.permute(1, 2, 0) * inverse;
        var both = cat([angles, angles], -1);
        return (both.cos().MoveToOuterDisposeScope(), both.sin().MoveToOuterDisposeScope());
    }
}
