namespace Vepa.Grpo;

/// <summary>Groups prompts that can share one batched forward pass: the same number of prompt tokens and the same input shape.</summary>
internal static class PromptBuckets
{
    /// <summary>Returns the bucket key of a prompt.</summary>
    public static string KeyOf(PolicyPrompt prompt)
        => prompt.Inputs is null
            ? $"{prompt.PromptTokenIds.Count}|-"
            : $"{prompt.PromptTokenIds.Count}|{string.Join('x', prompt.Inputs.shape)}|{prompt.Inputs.dtype}";

    /// <summary>Groups item indices by the key of their prompt, buckets in order of first occurrence, indices in order within a bucket.</summary>
    public static List<List<int>> Group(int count, Func<int, PolicyPrompt> promptOf)
    {
        var buckets = new List<List<int>>();
        var byKey = new Dictionary<string, List<int>>(StringComparer.Ordinal);
        for (int i = 0; i < count; i++)
        {
            string key = KeyOf(promptOf(i));
            if (!byKey.TryGetValue(key, out var bucket))
            {
                bucket = [];
                byKey.Add(key, bucket);
                buckets.Add(bucket);
            }

            bucket.Add(i);
        }

        return buckets;
    }
}
