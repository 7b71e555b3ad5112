using System.Text.RegularExpressions;
using Vepa.Rewards;

namespace Vepa.Samples.QwenVepa;

/// <summary>
/// The offline blind reader of the shape world: answers the question with the first word of the asked kind (colour, shape or side)
/// that the evidence names, and flags evidence of at most two words that names an answer as cheating (a bare "red" or "left").
/// A pure function: no network, safe to call concurrently.
/// </summary>
internal sealed partial class ShapeReader : IBlindReader
{
    public Task<BlindReaderReply> ReadAsync(BlindReaderQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        cancellationToken.ThrowIfCancellationRequested();
        return Task.FromResult(Read(query.Question, query.Evidence));
    }

    public static BlindReaderReply Read(string question, string evidence)
    {
        string[] words = Word().Matches(evidence.ToLowerInvariant()).Select(m => m.Value).ToArray();
        string[] kind = question.Contains("colour", StringComparison.OrdinalIgnoreCase) ? ShapeWorld.Colours
            : question.Contains("shape is drawn", StringComparison.OrdinalIgnoreCase) ? ShapeWorld.Shapes
            : ShapeWorld.Sides;
        string? answer = words.FirstOrDefault(w => kind.Contains(w));
        bool bare = words.Length <= 2 && words.Any(w => ShapeWorld.Colours.Contains(w) || ShapeWorld.Shapes.Contains(w) || ShapeWorld.Sides.Contains(w));
        return bare
            ? new BlindReaderReply(string.Empty, IsHonest: false, "[[CHEAT]] the evidence states an answer, not the picture")
            : new BlindReaderReply(answer ?? string.Empty, IsHonest: true, $"[[honest]] {answer ?? "(no answer from the evidence)"}");
    }

    [GeneratedRegex(@"[a-z]+", RegexOptions.CultureInvariant)]
    private static partial Regex Word();
}
