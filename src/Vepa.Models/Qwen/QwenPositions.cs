using TorchSharp;
using static TorchSharp.torch;

namespace Vepa.Models;

/// <summary>Position ids for padded batches, numbered as Hugging Face's generation does.</summary>
public static class QwenPositions
{
    /// <summary>
    /// Numbers each row's real tokens 0, 1, 2, ... by counting them: <c>cumsum(mask) − 1</c>, with padded positions set to 1,
    /// exactly as Hugging Face's <c>generate</c> prepares <c>position_ids</c>. A left-padded row thus gives its first real token
    /// position 0, the same positions it would have unpadded; right padding leaves the real tokens at 0 .. n−1.
    /// </summary>
    /// <param name="attentionMask">The mask [B, T] over all positions so far (1 = token, 0 = padding).</param>
    /// <param name="newLength">How many of the last positions to number (the new tokens of an incremental step), or −1 for all T.</param>
    /// <returns>Positions [B, newLength] (int64, on the mask's device).</returns>
    /// <exception cref="ArgumentNullException"><paramref name="attentionMask"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="attentionMask"/> is not [B, T], or <paramref name="newLength"/> exceeds T.</exception>
    public static Tensor FromAttentionMask(Tensor attentionMask, long newLength = -1)
    {
        ArgumentNullException.ThrowIfNull(attentionMask);
        if (attentionMask.dim() != 2)
        {
            throw new ArgumentException($"attentionMask must be [B, T]; got [{string.Join(", ", attentionMask.shape)}].", nameof(attentionMask));
        }

        long total = attentionMask.shape[1];
        if (newLength > total)
        {
            throw new ArgumentException($"newLength {newLength} exceeds the mask's length {total}.", nameof(newLength));
        }

        using var scope = NewDisposeScope();
        var mask = attentionMask.to(ScalarType.Int64);
        var positions = mask.cumsum(-1) - 1;
        positions = positions.masked_fill(mask.eq(0), 1);
        if (newLength >= 0)
        {
            positions = positions.narrow(1, total - newLength, newLength);
        }

        return positions.contiguous().MoveToOuterDisposeScope();
    }
}
