namespace Vepa.Samples.SceneVepa.World;

/// <summary>The question families; each needs a visual detail.</summary>
internal enum QuestionFamily
{
    Attribute,
    Count,
    Exist,
    Spatial,
    Compare,
}

/// <summary>A VQA item: a scene, a question about it, the gold answer and, for multiple choice, the options.</summary>
internal sealed record VqaItem(Scene Scene, QuestionFamily Family, string Question, string Gold, IReadOnlyList<string>? Choices, string PriorKey)
{
    public RewardRequest ToRequest(string evidence) => new(Question, Gold, evidence, Choices);
}

/// <summary>Generates questions of every family, in open or multiple-choice form, with balanced answers where it matters.</summary>
internal static class QuestionGenerator
{
    private static readonly string[] Relations = ["left of", "right of", "above", "below"];

    public static readonly QuestionFamily[] Families = Enum.GetValues<QuestionFamily>();

    public static VqaItem Generate(Scene scene, Random random, double multipleChoiceRate)
    {
        for (int attempt = 0; attempt < 64; attempt++)
        {
            var family = Families[random.Next(Families.Length)];
            var item = family switch
            {
                QuestionFamily.Attribute => Attribute(scene, random),
                QuestionFamily.Count => Count(scene, random),
                QuestionFamily.Exist => Exist(scene, random),
                QuestionFamily.Spatial => Spatial(scene, random),
                _ => Compare(scene, random),
            };
            if (item is null)
            {
                continue;
            }

            return random.NextDouble() < multipleChoiceRate ? ToMultipleChoice(item, random) : item;
        }

        throw new InvalidOperationException("No question could be generated for the scene.");
    }

    private static VqaItem? Attribute(Scene scene, Random random)
    {
        var o = scene.Objects[random.Next(scene.Objects.Count)];
        string where = Attributes.CellNames[o.Cell];
        return random.Next(3) switch
        {
            0 => new VqaItem(scene, QuestionFamily.Attribute, $"what color is the object at {where}?", Attributes.Colours[o.Colour], null, "attribute color"),
            1 => new VqaItem(scene, QuestionFamily.Attribute, $"what shape is the object at {where}?", Attributes.Shapes[o.Shape], null, "attribute shape"),
            _ => new VqaItem(scene, QuestionFamily.Attribute, $"what size is the object at {where}?", Attributes.Sizes[o.Size], null, "attribute size"),
        };
    }

    private static VqaItem Count(Scene scene, Random random)
    {
        if (random.Next(2) == 0)
        {
            int c = random.Next(Attributes.Colours.Length);
            return new VqaItem(scene, QuestionFamily.Count, $"how many {Attributes.Colours[c]} objects are there?", Attributes.Numbers[scene.CountColour(c)], null, "count color");
        }

        int s = random.Next(Attributes.Shapes.Length);
        return new VqaItem(scene, QuestionFamily.Count, $"how many {Attributes.ShapePlurals[s]} are there?", Attributes.Numbers[scene.CountShape(s)], null, "count shape");
    }

    private static VqaItem Exist(Scene scene, Random random)
    {
        // Half the questions name an object that is there, half one that is not.
        int colour, shape;
        if (random.Next(2) == 0)
        {
            var o = scene.Objects[random.Next(scene.Objects.Count)];
            (colour, shape) = (o.Colour, o.Shape);
        }
        else
        {
            do
            {
                colour = random.Next(Attributes.Colours.Length);
                shape = random.Next(Attributes.Shapes.Length);
            }
            while (scene.Count(colour, shape) > 0);
        }

        string answer = scene.Count(colour, shape) > 0 ? "yes" : "no";
        return new VqaItem(scene, QuestionFamily.Exist, $"is there a {Attributes.Colours[colour]} {Attributes.Shapes[shape]}?", answer, null, "exist");
    }

    private static VqaItem? Spatial(Scene scene, Random random)
    {
        var unique = scene.Objects.Where(o => scene.Count(o.Colour, o.Shape) == 1).ToList();
        if (unique.Count < 2)
        {
            return null;
        }

        var a = unique[random.Next(unique.Count)];
        var b = unique.Where(o => o != a).ElementAt(random.Next(unique.Count - 1));
        string relation = Relations[random.Next(Relations.Length)];
        bool holds = Holds(a, relation, b);
        return new VqaItem(
            scene,
            QuestionFamily.Spatial,
            $"is the {Attributes.Colours[a.Colour]} {Attributes.Shapes[a.Shape]} {relation} the {Attributes.Colours[b.Colour]} {Attributes.Shapes[b.Shape]}?",
            holds ? "yes" : "no",
            null,
            "spatial");
    }

    public static bool Holds(SceneObject a, string relation, SceneObject b) => relation switch
    {
        "left of" => a.Column < b.Column,
        "right of" => a.Column > b.Column,
        "above" => a.Row < b.Row,
        "below" => a.Row > b.Row,
        _ => throw new ArgumentException($"Unknown relation \"{relation}\".", nameof(relation)),
    };

    private static VqaItem Compare(Scene scene, Random random)
    {
        if (random.Next(2) == 0)
        {
            int c1 = random.Next(Attributes.Colours.Length);
            int c2 = (c1 + 1 + random.Next(Attributes.Colours.Length - 1)) % Attributes.Colours.Length;
            return new VqaItem(scene, QuestionFamily.Compare, $"are there more {Attributes.Colours[c1]} objects than {Attributes.Colours[c2]} objects?",
                scene.CountColour(c1) > scene.CountColour(c2) ? "yes" : "no", null, "compare");
        }

        int s1 = random.Next(Attributes.Shapes.Length);
        int s2 = (s1 + 1 + random.Next(Attributes.Shapes.Length - 1)) % Attributes.Shapes.Length;
        return new VqaItem(scene, QuestionFamily.Compare, $"are there more {Attributes.ShapePlurals[s1]} than {Attributes.ShapePlurals[s2]}?",
            scene.CountShape(s1) > scene.CountShape(s2) ? "yes" : "no", null, "compare");
    }

    private static VqaItem ToMultipleChoice(VqaItem item, Random random)
    {
        string[] pool = item.PriorKey switch
        {
            "attribute color" => Attributes.Colours,
            "attribute shape" => Attributes.Shapes,
            "attribute size" => Attributes.Sizes,
            "count color" or "count shape" => Attributes.Numbers[..7],
            _ => ["yes", "no"],
        };
        var distractors = pool.Where(p => p != item.Gold).OrderBy(_ => random.Next()).Take(Math.Min(3, pool.Length - 1));
        var choices = distractors.Append(item.Gold).OrderBy(_ => random.Next()).ToArray();
        return item with { Choices = choices, PriorKey = item.PriorKey + " choice" };
    }
}
