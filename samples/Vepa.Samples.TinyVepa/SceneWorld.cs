namespace Vepa.Samples.TinyVepa;

/// <summary>A tiny synthetic scene world: each scene has a colour, a shape and an object count; questions ask for one of them.</summary>
internal sealed class SceneWorld(int seed)
{
    public static readonly string[] Colors = ["red", "green", "blue", "yellow"];
    public static readonly string[] Shapes = ["cube", "sphere", "cylinder"];
    public static readonly string[] CountWords = ["one", "two", "three", "four"];

    /// <summary>The policy's vocabulary; token 0 ends the evidence.</summary>
    public static readonly string[] Vocabulary =
        ["<eos>", "the", "object", "objects", "is", "a", "there", "are", .. Colors, .. Shapes, .. CountWords];

    public static readonly string[] Questions = ["What color is the object?", "What shape is the object?", "How many objects are there?"];

    /// <summary>Scene one-hots (colour, shape, count) followed by the question-kind one-hot: the policy's whole view of (v, q).</summary>
    public static int FeatureCount => Colors.Length + Shapes.Length + CountWords.Length + Questions.Length;

    private readonly Random _random = new(seed);

    public VqaItem Sample()
    {
        int color = _random.Next(Colors.Length), shape = _random.Next(Shapes.Length), count = _random.Next(CountWords.Length);
        int kind = _random.Next(Questions.Length);
        string gold = kind switch
        {
            0 => Colors[color],
            1 => Shapes[shape],
            _ => (count + 1).ToString(System.Globalization.CultureInfo.InvariantCulture), // digits: the matcher knows "two" = "2"
        };
        return new VqaItem(color, shape, count, kind, Questions[kind], gold);
    }

    public static string Decode(ReadOnlySpan<long> tokens)
    {
        var words = new List<string>();
        foreach (long token in tokens)
        {
            if (token == 0)
            {
                break;
            }

            words.Add(Vocabulary[token]);
        }

        return string.Join(' ', words);
    }
}

/// <summary>One (image, question, answer) triplet of the scene world.</summary>
internal sealed record VqaItem(int Color, int Shape, int Count, int QuestionKind, string Question, string Gold)
{
    public void WriteFeatures(Span<float> features)
    {
        features.Clear();
        features[Color] = 1;
        features[SceneWorld.Colors.Length + Shape] = 1;
        features[SceneWorld.Colors.Length + SceneWorld.Shapes.Length + Count] = 1;
        features[SceneWorld.Colors.Length + SceneWorld.Shapes.Length + SceneWorld.CountWords.Length + QuestionKind] = 1;
    }
}
