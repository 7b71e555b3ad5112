namespace Vepa.Grpo;

/// <summary>Checks the sampling's stop and pad ids against the policy's vocabulary when the trainer is built.</summary>
internal static class TokenIdChecks
{
    /// <summary>Throws when a stop or pad id is outside [0, V) of the policy's tokenizer; does nothing when the policy exposes no <see cref="ITokenizer"/>.</summary>
    /// <exception cref="ArgumentException">An id is outside the vocabulary; the message names every such id.</exception>
    public static void ThrowIfOutsideVocabulary(IPolicy policy, SamplingOptions sampling)
    {
        if (policy.GetService(typeof(ITokenizer)) is not ITokenizer tokenizer)
        {
            return;
        }

        int vocabulary = tokenizer.VocabularySize;
        var problems = new List<string>();
        var stops = sampling.StopTokenIds.Where(id => id >= vocabulary).ToArray();
        if (stops.Length > 0)
        {
            problems.Add($"Sampling.StopTokenIds holds {string.Join(", ", stops)}, outside the policy's vocabulary [0, {vocabulary}).");
        }

        if (sampling.PadTokenId >= vocabulary)
        {
            problems.Add($"Sampling.PadTokenId is {sampling.PadTokenId}, outside the policy's vocabulary [0, {vocabulary}).");
        }

        if (problems.Count > 0)
        {
            throw new ArgumentException("Invalid GrpoTrainerOptions: " + string.Join(" ", problems), "options");
        }
    }
}
