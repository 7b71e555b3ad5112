using Vepa.Samples.SceneVepa.World;

namespace Vepa.Samples.SceneVepa.Reading;

/// <summary>
/// What one evidence text states, checked against the scene graph (the ground truth the blind reader never sees).
/// </summary>
/// <param name="Facts">The facts the evidence states (the lenient parse: every object, count and empty-cell fact in it).</param>
/// <param name="TrueFacts">How many of them the scene graph makes true.</param>
/// <param name="Relevant">How many facts the question needs (1, or 2 for spatial and comparison questions).</param>
/// <param name="RelevantStated">How many of those the evidence states truly.</param>
/// <param name="Echo">Whether the evidence asserts the queried object, attribute or cell with something the scene does not have there.</param>
internal sealed record FaithfulnessCheck(int Facts, int TrueFacts, int Relevant, int RelevantStated, bool Echo)
{
    /// <summary>Gets a value indicating whether the evidence states at least one fact and every fact it states is true.</summary>
    public bool Faithful => Facts > 0 && TrueFacts == Facts;

    /// <summary>Gets a value indicating whether the evidence states at least one false fact.</summary>
    public bool Hallucinated => TrueFacts < Facts;

    /// <summary>Gets a value indicating whether every fact the question needs is stated truly (a correct answer is then grounded).</summary>
    public bool Supported => RelevantStated == Relevant;
}

/// <summary>
/// The evidence-faithfulness measure: the facts the evidence states, parsed as the readers parse them, compared with the scene.
/// </summary>
/// <remarks>
/// <para>A fact is true when the scene graph makes it true: an object fact with a cell when the object there has every stated
/// attribute; one without a cell when some object has them all; a count when the scene has exactly that many; an empty cell when
/// the cell is empty.</para>
/// <para>The question-relevant facts: attribute question, the asked attribute of the object at the cell (a fact at that cell
/// stating it with the scene's value); count, the count of the asked category; existence, the object (a true fact naming its
/// colour and shape) or, when absent, a true zero count of it, its colour or its shape; spatial, both objects with their cells;
/// comparison, both counts.</para>
/// <para>An echo is a false positive fact (an object, or a count above zero) about a queried entity: a fact at the asked cell, or
/// one naming every colour and shape word the question names for one object or category ("middle right small red triangle" for
/// "is there a red triangle?" when the object there is a circle).</para>
/// </remarks>
internal static class Faithfulness
{
    /// <summary>A queried entity: the colour, shape or cell the question names for one object or category.</summary>
    private sealed record Entity(int? Colour, int? Shape, int? Cell);

    public static FaithfulnessCheck Check(VqaItem item, string evidence)
    {
        ArgumentNullException.ThrowIfNull(item);
        ArgumentNullException.ThrowIfNull(evidence);
        var scene = item.Scene;
        var facts = SceneFacts.Parse(evidence, strict: false);
        int stated = facts.FactCount;
        int correct = facts.Objects.Count(f => IsTrue(scene, f)) + facts.Counts.Count(f => IsTrue(scene, f)) + facts.Empty.Count(f => IsTrue(scene, f));
        var (entities, attribute) = Query(item);
        bool echo = entities.Any(e =>
            facts.Objects.Any(f => About(f, e) && !IsTrue(scene, f)) ||
            facts.Counts.Any(f => f.Count > 0 && e.Cell is null && (e.Colour is null || f.Colour == e.Colour) && (e.Shape is null || f.Shape == e.Shape) && !IsTrue(scene, f)));
        int relevant = entities.Count;
        int relevantStated = entities.Count(e => StatesTruly(item, scene, facts, e, attribute));
        return new FaithfulnessCheck(stated, correct, relevant, relevantStated, echo);
    }

    public static bool IsTrue(Scene scene, ObjectFact fact)
    {
        ArgumentNullException.ThrowIfNull(scene);
        ArgumentNullException.ThrowIfNull(fact);
        return fact.Cell is { } cell ? scene.At(cell) is { } o && Matches(o, fact) : scene.Objects.Any(o => Matches(o, fact));
    }

    public static bool IsTrue(Scene scene, CountFact fact)
    {
        ArgumentNullException.ThrowIfNull(scene);
        ArgumentNullException.ThrowIfNull(fact);
        return scene.Objects.Count(o => (fact.Colour is null || o.Colour == fact.Colour) && (fact.Shape is null || o.Shape == fact.Shape)) == fact.Count;
    }

    public static bool IsTrue(Scene scene, EmptyFact fact)
    {
        ArgumentNullException.ThrowIfNull(scene);
        ArgumentNullException.ThrowIfNull(fact);
        return scene.At(fact.Cell) is null;
    }

    private static bool Matches(SceneObject o, ObjectFact f) =>
        (f.Size is null || f.Size == o.Size) && (f.Colour is null || f.Colour == o.Colour) && (f.Shape is null || f.Shape == o.Shape);

    private static bool About(ObjectFact f, Entity e) =>
        (e.Cell is null || f.Cell == e.Cell) && (e.Colour is null || f.Colour == e.Colour) && (e.Shape is null || f.Shape == e.Shape);

    private static bool StatesTruly(VqaItem item, Scene scene, SceneFacts facts, Entity e, string? attribute)
    {
        switch (item.Family)
        {
            case QuestionFamily.Attribute:
                var o = scene.At(e.Cell!.Value);
                return o is not null && facts.Objects.Any(f => f.Cell == e.Cell && attribute switch
                {
                    "color" => f.Colour == o.Colour,
                    "shape" => f.Shape == o.Shape,
                    _ => f.Size == o.Size,
                });
            case QuestionFamily.Count or QuestionFamily.Compare:
                return facts.Counts.Any(f => f.Colour == e.Colour && f.Shape == e.Shape && IsTrue(scene, f));
            case QuestionFamily.Exist:
                bool present = scene.Count(e.Colour!.Value, e.Shape!.Value) > 0;
                return present
                    ? facts.Objects.Any(f => f.Colour == e.Colour && f.Shape == e.Shape && IsTrue(scene, f)) ||
                      facts.Counts.Any(f => f.Colour == e.Colour && f.Shape == e.Shape && f.Count > 0 && IsTrue(scene, f))
                    : facts.Counts.Any(f => f.Count == 0 && IsTrue(scene, f) &&
                                            ((f.Colour == e.Colour && f.Shape == e.Shape) || (f.Colour == e.Colour && f.Shape is null) || (f.Colour is null && f.Shape == e.Shape)));
            default: // spatial: the object with its cell
                return facts.Objects.Any(f => f.Colour == e.Colour && f.Shape == e.Shape && f.Cell is not null && IsTrue(scene, f));
        }
    }

    // The entities a question names, and for attribute questions the asked attribute.
    private static (List<Entity> Entities, string? Attribute) Query(VqaItem item)
    {
        var tokens = SceneFacts.Tokenize(item.Question).Where(t => t != "?").ToList();
        var colours = tokens.Select(t => SceneFacts.IndexOf(Attributes.Colours, t)).Where(c => c is not null).ToList();
        var shapes = tokens.Select(t => SceneFacts.IndexOf(Attributes.Shapes, t) ?? SceneFacts.IndexOf(Attributes.ShapePlurals, t)).Where(s => s is not null).ToList();
        switch (item.Family)
        {
            case QuestionFamily.Attribute:
                int at = tokens.LastIndexOf("at");
                if (at < 0 || SceneFacts.TryPosition(tokens, at + 1, out int cell) == 0)
                {
                    throw new ArgumentException($"The attribute question \"{item.Question}\" names no cell.", nameof(item));
                }

                return ([new Entity(null, null, cell)], tokens[1]);
            case QuestionFamily.Count:
                return ([new Entity(colours.FirstOrDefault(), colours.Count == 0 ? shapes.FirstOrDefault() : null, null)], null);
            case QuestionFamily.Exist:
                return ([new Entity(colours.Single(), shapes.Single(), null)], null);
            case QuestionFamily.Spatial:
                return ([new Entity(colours[0], shapes[0], null), new Entity(colours[1], shapes[1], null)], null);
            default: // compare: two colours or two shapes
                return colours.Count == 2
                    ? ([new Entity(colours[0], null, null), new Entity(colours[1], null, null)], null)
                    : ([new Entity(null, shapes[0], null), new Entity(null, shapes[1], null)], null);
        }
    }
}
