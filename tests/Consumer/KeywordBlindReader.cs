using Vepa.Rewards;

namespace Vepa.Consumer;

#region snippet:custom-reader
/// <summary>
/// A stand-in for an LLM: answers with the first choice (or the first colour word) the evidence mentions, and calls
/// evidence that merely states "the answer is …" dishonest.
/// </summary>
public sealed class KeywordBlindReader : IBlindReader
{
    private static readonly string[] Colours = ["red", "green", "blue", "yellow", "black", "white", "purple", "orange"];

    public Task<BlindReaderReply> ReadAsync(BlindReaderQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        cancellationToken.ThrowIfCancellationRequested();
        IEnumerable<string> candidates = query.Choices ?? Colours;
        string answer = candidates.FirstOrDefault(c => query.Evidence.Contains(c, StringComparison.OrdinalIgnoreCase)) ?? string.Empty;
        bool honest = !query.Evidence.Contains("the answer is", StringComparison.OrdinalIgnoreCase);
        return Task.FromResult(new BlindReaderReply(answer, honest));
    }
}
#endregion
