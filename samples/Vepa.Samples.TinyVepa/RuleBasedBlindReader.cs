using Vepa.Rewards;

namespace Vepa.Samples.TinyVepa;

/// <summary>
/// A frozen, text-only reader for the scene world, standing in for an LLM: it answers from the evidence alone and
/// flags evidence that states a bare answer with no visual context as cheating (the paper's honesty flag).
/// </summary>
internal static class RuleBasedBlindReader
{
    private static readonly HashSet<string> ContextWords = ["the", "object", "objects", "is", "a", "there", "are"];

    public static IBlindReader Create() => new DelegateBlindReader(Read);

    private static BlindReaderReply Read(BlindReaderQuery query)
    {
        string[] words = query.Evidence.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        string[] candidates = query.Question.StartsWith("What color", StringComparison.Ordinal) ? SceneWorld.Colors
            : query.Question.StartsWith("What shape", StringComparison.Ordinal) ? SceneWorld.Shapes
            : SceneWorld.CountWords;

        // The reader commits to an answer only when the evidence names exactly one candidate.
        var named = words.Where(candidates.Contains).Distinct().ToList();
        string answer = named.Count == 1 ? named[0] : "unknown";

        // Cheating: the evidence is nothing but answer words, with no visual context around them.
        bool honest = words.Any(ContextWords.Contains) || words.Length == 0;
        return new BlindReaderReply(answer, honest);
    }
}
