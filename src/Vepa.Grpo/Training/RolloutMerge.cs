using TorchSharp;
using static TorchSharp.torch;

namespace Vepa.Grpo;

/// <summary>Builds a batch in which some groups are replaced by freshly sampled ones (dynamic sampling).</summary>
internal static class RolloutMerge
{
    /// <summary>Returns a new batch: <paramref name="batch"/> with groups <paramref name="groups"/> replaced by the groups of <paramref name="replacement"/>, in order.</summary>
    public static RolloutBatch ReplaceGroups(RolloutBatch batch, RolloutBatch replacement, int[] groups, long padTokenId)
    {
        int g = batch.GroupSize;
        long length = Math.Max(batch.Length, replacement.Length);
        var rows = groups.SelectMany(p => Enumerable.Range(p * g, g)).Select(r => (long)r).ToArray();
        using var scope = NewDisposeScope();
        var device = batch.CompletionIds.device;
        var index = tensor(rows, device: device);
        var ids = Pad(batch.CompletionIds, length, padTokenId).index_copy(0, index, Pad(replacement.CompletionIds.to(device), length, padTokenId));
        var mask = Pad(batch.CompletionMask, length, 0).index_copy(0, index, Pad(replacement.CompletionMask.to(device), length, 0));
        Tensor? samplerLogProbs = null;
        if (batch.SamplerLogProbs is not null && replacement.SamplerLogProbs is not null)
        {
            samplerLogProbs = Pad(batch.SamplerLogProbs, length, 0).index_copy(
                0, index, Pad(replacement.SamplerLogProbs.to(batch.SamplerLogProbs.dtype, device), length, 0));
        }

        var truncated = batch.Truncated.ToArray();
        var texts = batch.Texts.ToArray();
        for (int i = 0; i < rows.Length; i++)
        {
            truncated[rows[i]] = replacement.Truncated[i];
            texts[rows[i]] = replacement.Texts[i];
        }

        // The merged batch is as old as its oldest part.
        return new RolloutBatch(batch.Prompts, g, ids, mask, truncated, texts, samplerLogProbs)
        {
            WeightVersion = Math.Min(batch.WeightVersion, replacement.WeightVersion),
        };
    }

    private static Tensor Pad(Tensor value, long length, double fill)
    {
        long missing = length - value.shape[1];
        if (missing == 0)
        {
            return value.alias();
        }

        var padding = full([value.shape[0], missing], fill, value.dtype, value.device);
        return cat([value, padding], 1);
    }
}
