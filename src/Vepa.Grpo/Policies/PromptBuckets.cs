namespace Vepa.Grpo;

/// <summary>
/// Groups prompts that can share one batched forward pass: the same input shape, and (for a module without attention masks)
/// the same number of prompt tokens and the same model-input shapes.
/// </summary>
internal static class PromptBuckets
{
    /// <summary>Returns the bucket key of a prompt; <paramref name="padded"/> when the module takes left-padded prompts with a mask.</summary>
    public static string KeyOf(PolicyPrompt prompt, bool padded)
    {
        string inputs = prompt.Inputs is null ? "-" : $"{string.Join('x', prompt.Inputs.shape)}|{prompt.Inputs.dtype}";
        if (padded)
        {
            // The module receives every row's prompt (and its model inputs) and a mask: only the prefix shape must agree.
            return inputs;
        }

        string model = prompt.ModelInputs is null
            ? "-"
            : string.Join(';', prompt.ModelInputs.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key}:{string.Join('x', p.Value.shape)}"));
        return $"{prompt.PromptTokenIds.Count}|{inputs}|{model}";
    }

    /// <summary>Groups item indices by the key of their prompt, buckets in order of first occurrence, indices in order within a bucket.</summary>
    public static List<List<int>> Group(int count, Func<int, PolicyPrompt> promptOf, bool padded)
    {
        var buckets = new List<List<int>>();
        var byKey = new Dictionary<string, List<int>>(StringComparer.Ordinal);
        for (int i = 0; i < count; i++)
        {
            string key = KeyOf(promptOf(i), padded);
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
