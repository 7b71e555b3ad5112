namespace Vepa.Samples.SceneVepa.World;

/// <summary>The word-level vocabulary shared by questions, captions, evidence and answers.</summary>
internal static class Vocabulary
{
    public const int Pad = 0, Bos = 1, Eos = 2, EvidenceTask = 3, AnswerTask = 4;

    /// <summary>The longest question in tokens; prompts are left-padded to this length so a batch shares one prompt length.</summary>
    public const int MaxQuestionTokens = 11;

    /// <summary>The prompt: &lt;bos&gt;, the left-padded question, the task token.</summary>
    public const int PromptLength = MaxQuestionTokens + 2;

    private static readonly string[] Special = ["<pad>", "<bos>", "<eos>", "<evidence>", "<answer>"];

    private static readonly string[] Words =
    [
        .. Attributes.Colours, .. Attributes.Shapes, .. Attributes.ShapePlurals, .. Attributes.Sizes, .. Attributes.Numbers,
        "top", "middle", "bottom", "left", "right", "center",
        "object", "objects", "at", "nothing", "no", "yes", "and", ",", "?",
        "what", "color", "shape", "size", "is", "the", "how", "many", "are", "there", "a", "of", "above", "below", "more", "than",
    ];

    public static readonly string[] All = [.. Special, .. Words];

    private static readonly Dictionary<string, int> Ids = All.Select((w, i) => (w, i)).ToDictionary(x => x.w, x => x.i, StringComparer.Ordinal);

    public static int Size => All.Length;

    public static int Id(string word) =>
        Ids.TryGetValue(word, out int id) ? id : throw new ArgumentException($"\"{word}\" is not in the scene vocabulary ({Size} words).", nameof(word));

    public static bool Contains(string word) => Ids.ContainsKey(word);

    public static IReadOnlyList<string> Split(string text) =>
        text.Replace(",", " , ", StringComparison.Ordinal).Replace("?", " ?", StringComparison.Ordinal)
            .Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    public static long[] Encode(string text) => Split(text).Select(w => (long)Id(w)).ToArray();

    /// <summary>Decodes ids up to the first &lt;eos&gt;, skipping padding; other special tokens are written as they are.</summary>
    public static string Decode(ReadOnlySpan<long> ids)
    {
        var words = new List<string>(ids.Length);
        foreach (long id in ids)
        {
            if (id == Eos)
            {
                break;
            }

            if (id == Pad)
            {
                continue;
            }

            words.Add(id >= 0 && id < All.Length ? All[id] : "<unk>");
        }

        return string.Join(' ', words).Replace(" ,", ",", StringComparison.Ordinal).Replace(" ?", "?", StringComparison.Ordinal);
    }

    /// <summary>The prompt ids: &lt;bos&gt;, padding, the question, the task token.</summary>
    public static long[] Prompt(string question, int task)
    {
        long[] q = Encode(question);
        if (q.Length > MaxQuestionTokens)
        {
            throw new ArgumentException($"The question has {q.Length} tokens; at most {MaxQuestionTokens} fit the prompt: \"{question}\".", nameof(question));
        }

        var prompt = new long[PromptLength];
        prompt[0] = Bos;
        q.CopyTo(prompt.AsSpan(1 + MaxQuestionTokens - q.Length));
        prompt[^1] = task;
        return prompt;
    }
}
