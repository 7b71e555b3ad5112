using Vepa.Rewards;
using Vepa.Samples.SceneVepa.World;

namespace Vepa.Samples.SceneVepa.Reading;

/// <summary>
/// A question-only reader: answers every question with the most frequent training answer of its question type (the language prior),
/// ignoring the evidence. With <see cref="VisualDependencyFilter"/> it marks the items that can be guessed without the image.
/// </summary>
internal sealed class PriorReader : IBlindReader
{
    private readonly Dictionary<string, List<(string Answer, int Count)>> _ranked;
    private readonly Dictionary<string, string> _keyOfQuestion;

    public PriorReader(IEnumerable<VqaItem> training)
    {
        ArgumentNullException.ThrowIfNull(training);
        var items = training.ToList();
        _ranked = items.GroupBy(i => BaseKey(i.PriorKey)).ToDictionary(
            g => g.Key,
            g => g.GroupBy(i => i.Gold).Select(a => (a.Key, a.Count())).OrderByDescending(a => a.Item2).ThenBy(a => a.Key, StringComparer.Ordinal).ToList());
        _keyOfQuestion = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var item in items)
        {
            _keyOfQuestion[Template(item.Question)] = BaseKey(item.PriorKey);
        }
    }

    public Task<BlindReaderReply> ReadAsync(BlindReaderQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        if (!_keyOfQuestion.TryGetValue(Template(query.Question), out string? key))
        {
            return Task.FromResult(new BlindReaderReply(string.Empty, true, "unknown question type"));
        }

        // For multiple choice, the most frequent training answer among the options.
        string answer = _ranked[key].Select(a => a.Answer).FirstOrDefault(a => query.Choices is null || query.Choices.Contains(a)) ?? string.Empty;
        return Task.FromResult(new BlindReaderReply(answer, true, answer));
    }

    private static string BaseKey(string key) => key.Replace(" choice", string.Empty, StringComparison.Ordinal);

    // The question with its attribute and position words replaced, so "how many red objects" and "how many blue objects" share a type.
    private static string Template(string question) => string.Join(' ', SceneFacts.Tokenize(question).Select(t =>
        Array.IndexOf(Attributes.Colours, t) >= 0 ? "C" :
        Array.IndexOf(Attributes.Shapes, t) >= 0 || Array.IndexOf(Attributes.ShapePlurals, t) >= 0 ? "S" :
        t is "top" or "middle" or "bottom" or "left" or "right" or "center" or "above" or "below" or "of" ? "P" : t));
}
