namespace Vepa.Samples.SceneVepa.World;

/// <summary>
/// Coarse captions, the weak grounding VEPA starts from: one or two phrases about the most salient content (big objects first,
/// sometimes a group count such as "two red objects"), never question-conditioned. An object is described attribute-first
/// ("big red circle at top left") or position-first ("top left big red circle"), at random. Every phrase is true of the scene.
/// </summary>
/// <remarks>
/// A base VLM follows instructions a little: with probability <c>focus</c> the first phrase is about what the instruction (a
/// question) names, one object or group of it, stated the way a caption would state it. The rest of the time, and for the second
/// phrase, the caption ignores the instruction.
/// </remarks>
internal static class Captions
{
    public static string Coarse(Scene scene, Random random, VqaItem? instruction = null, double focus = 0)
    {
        int phrases = random.NextDouble() < 0.5 ? 1 : 2;
        var used = new HashSet<string>(StringComparer.Ordinal);
        var parts = new List<string>(phrases);
        if (instruction is not null && random.NextDouble() < focus && Focused(scene, instruction, random) is { } focused)
        {
            used.Add(focused);
            parts.Add(focused);
        }

        for (int attempt = 0; parts.Count < phrases && attempt < 16; attempt++)
        {
            string phrase = random.NextDouble() < 0.7 ? SalientObject(scene, random) : Group(scene, random);
            if (used.Add(phrase))
            {
                parts.Add(phrase);
            }
        }

        return string.Join(" , ", parts);
    }

    // One phrase about the object or group the question names (for two, one of them).
    private static string? Focused(Scene scene, VqaItem item, Random random)
    {
        var words = item.Question.TrimEnd('?').Split(' ');
        int? Colour(int from) => Enumerable.Range(from, words.Length - from).Select(i => Array.IndexOf(Attributes.Colours, words[i])).FirstOrDefault(c => c >= 0, -1) is var c and >= 0 ? c : null;
        switch (item.Family)
        {
            case QuestionFamily.Attribute:
                int cell = Array.FindIndex(Attributes.CellNames, n => item.Question.EndsWith("at " + n + "?", StringComparison.Ordinal));
                return scene.At(cell) is { } o ? Describe(o, random) : null;
            case QuestionFamily.Count or QuestionFamily.Compare:
                var colours = words.Select(w => Array.IndexOf(Attributes.Colours, w)).Where(c => c >= 0).ToList();
                var shapes = words.Select(w => Array.IndexOf(Attributes.ShapePlurals, w)).Where(c => c >= 0).ToList();
                if (colours.Count > 0)
                {
                    int c = colours[random.Next(colours.Count)];
                    return $"{CountWord(scene.CountColour(c))} {Attributes.Colours[c]} {(scene.CountColour(c) == 1 ? "object" : "objects")}";
                }

                int s = shapes[random.Next(shapes.Count)];
                return $"{CountWord(scene.CountShape(s))} {(scene.CountShape(s) == 1 ? Attributes.Shapes[s] : Attributes.ShapePlurals[s])}";
            default: // exist, spatial: a named colour-and-shape object
                var named = scene.Objects.Where(o => item.Question.Contains($"{Attributes.Colours[o.Colour]} {Attributes.Shapes[o.Shape]}", StringComparison.Ordinal)).ToList();
                if (named.Count > 0)
                {
                    return Describe(named[random.Next(named.Count)], random);
                }

                int? colour = Colour(0);
                int shape = words.Select(w => Array.IndexOf(Attributes.Shapes, w)).FirstOrDefault(x => x >= 0, 0);
                return colour is null ? null : $"no {Attributes.Colours[colour.Value]} {Attributes.ShapePlurals[shape]}";
        }
    }

    private static string Describe(SceneObject o, Random random) => random.Next(2) == 0 ? o.Phrase : o.PositionFirstPhrase;

    // Big objects are three times as salient as small ones.
    private static string SalientObject(Scene scene, Random random)
    {
        double total = scene.Objects.Sum(o => o.Size == 0 ? 3.0 : 1.0);
        double pick = random.NextDouble() * total;
        foreach (var o in scene.Objects)
        {
            pick -= o.Size == 0 ? 3.0 : 1.0;
            if (pick <= 0)
            {
                return Describe(o, random);
            }
        }

        return scene.Objects[^1].Phrase;
    }

    // A count of a colour, a shape, or a colour and shape; occasionally of one that is absent ("no green objects").
    private static string Group(Scene scene, Random random)
    {
        int colour = random.Next(Attributes.Colours.Length), shape = random.Next(Attributes.Shapes.Length);
        if (random.NextDouble() < 0.75 && scene.Objects.Count > 0)
        {
            var o = scene.Objects[random.Next(scene.Objects.Count)];
            (colour, shape) = (o.Colour, o.Shape);
        }

        return random.Next(3) switch
        {
            0 => $"{CountWord(scene.CountColour(colour))} {Attributes.Colours[colour]} {(scene.CountColour(colour) == 1 ? "object" : "objects")}",
            1 => $"{CountWord(scene.CountShape(shape))} {(scene.CountShape(shape) == 1 ? Attributes.Shapes[shape] : Attributes.ShapePlurals[shape])}",
            _ => $"{CountWord(scene.Count(colour, shape))} {Attributes.Colours[colour]} {(scene.Count(colour, shape) == 1 ? Attributes.Shapes[shape] : Attributes.ShapePlurals[shape])}",
        };
    }

    private static string CountWord(int n) => n == 0 ? "no" : Attributes.Numbers[n];
}
