namespace Vepa.Samples.SceneVepa.World;

/// <summary>
/// Coarse captions, the weak grounding VEPA starts from: one or two phrases about the most salient content (big objects first,
/// sometimes a group count such as "two red objects"), never question-conditioned. Every phrase is true of the scene.
/// </summary>
internal static class Captions
{
    public static string Coarse(Scene scene, Random random)
    {
        int phrases = random.NextDouble() < 0.5 ? 1 : 2;
        var used = new HashSet<string>(StringComparer.Ordinal);
        var parts = new List<string>(phrases);
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
                return o.Phrase;
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
