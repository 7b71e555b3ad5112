using Vepa.Samples.SceneVepa.Reading;
using Vepa.Samples.SceneVepa.Stages;
using Vepa.Samples.SceneVepa.World;

namespace Vepa.Samples.Tests;

/// <summary>The faithfulness measure against hand-checked scenes: every expected count below was worked out by hand from the scene.</summary>
public sealed class FaithfulnessTests
{
    // top left: big red circle; top right: big green triangle; center: small blue square; bottom right: small red triangle.
    // Colour indices: red 0, green 1, blue 2, yellow 3; shapes: circle 0, square 1, triangle 2; sizes: big 0, small 1.
    private static readonly Scene Scene = new(
        [new SceneObject(0, 0, 0, 0), new SceneObject(1, 2, 0, 2), new SceneObject(2, 1, 1, 4), new SceneObject(0, 2, 1, 8)], drawSeed: 1);

    private static VqaItem Item(QuestionFamily family, string question, string gold) => new(Scene, family, question, gold, null, "test");

    [Theory]
    // question, gold, evidence → facts, true facts, relevant, relevant stated truly, echo
    [InlineData("Exist", "is there a red triangle?", "yes", "small red triangle at bottom right", 1, 1, 1, 1, false)]
    [InlineData("Exist", "is there a red triangle?", "yes", "one red triangle", 1, 1, 1, 1, false)]
    // the paper reward's echo: the queried object asserted where the scene has another one (a circle, not a triangle, at top left)
    [InlineData("Exist", "is there a red triangle?", "yes", "top left big red triangle", 1, 0, 1, 0, true)]
    [InlineData("Exist", "is there a blue triangle?", "no", "middle right small blue triangle", 1, 0, 1, 0, true)]
    [InlineData("Exist", "is there a blue triangle?", "no", "no blue triangles", 1, 1, 1, 1, false)]
    [InlineData("Exist", "is there a blue triangle?", "no", "no yellow objects, big green triangle at top right", 2, 2, 1, 0, false)]
    // a false negative is a hallucination but not an echo (it asserts absence, not the queried object)
    [InlineData("Exist", "is there a blue triangle?", "no", "no blue objects", 1, 0, 1, 0, false)]
    [InlineData("Count", "how many triangles are there?", "two", "two triangles", 1, 1, 1, 1, false)]
    [InlineData("Count", "how many triangles are there?", "two", "four triangles, small blue square at center", 2, 1, 1, 0, true)]
    [InlineData("Count", "how many red objects are there?", "two", "two red objects, one green object", 2, 2, 1, 1, false)]
    // a red object asserted at an empty cell is an echo of the queried colour
    [InlineData("Count", "how many red objects are there?", "two", "red square at middle left", 1, 0, 1, 0, true)]
    // the asked attribute (colour) is right, the shape is not: the fact is false, the relevant attribute is stated truly, and it is an echo of the asked cell
    [InlineData("Attribute", "what color is the object at top left?", "red", "top left big red square", 1, 0, 1, 1, true)]
    [InlineData("Attribute", "what color is the object at top left?", "red", "big red circle at top left", 1, 1, 1, 1, false)]
    [InlineData("Attribute", "what shape is the object at center?", "square", "nothing at center", 1, 0, 1, 0, false)]
    [InlineData("Attribute", "what shape is the object at center?", "square", "nothing at middle left, small blue square at center", 2, 2, 1, 1, false)]
    [InlineData("Spatial", "is the red circle left of the green triangle?", "yes", "red circle at top left, green triangle at top right", 2, 2, 2, 2, false)]
    [InlineData("Spatial", "is the red circle left of the green triangle?", "yes", "red circle at top left, green triangle at bottom left", 2, 1, 2, 1, true)]
    [InlineData("Compare", "are there more red objects than blue objects?", "yes", "two red objects, one blue object", 2, 2, 2, 2, false)]
    [InlineData("Compare", "are there more circles than squares?", "no", "three circles, one square", 2, 1, 2, 1, true)]
    [InlineData("Compare", "are there more circles than squares?", "no", "yes", 0, 0, 2, 0, false)]
    public void Each_stated_fact_is_checked_against_the_scene(
        string family, string question, string gold, string evidence, int facts, int trueFacts, int relevant, int relevantStated, bool echo)
    {
        var check = Faithfulness.Check(Item(Enum.Parse<QuestionFamily>(family), question, gold), evidence);
        check.Should().Be(new FaithfulnessCheck(facts, trueFacts, relevant, relevantStated, echo));
        check.Faithful.Should().Be(facts > 0 && trueFacts == facts);
        check.Hallucinated.Should().Be(trueFacts < facts);
        check.Supported.Should().Be(relevant == relevantStated);
    }

    [Fact]
    public void A_complete_true_description_is_faithful_and_states_every_relevant_fact_for_every_family()
    {
        var random = new Random(11);
        for (int i = 0; i < 300; i++)
        {
            var scene = SceneVepa.World.Scene.Random(random);
            var item = QuestionGenerator.Generate(scene, random, 0);
            var facts = scene.Objects.Select(o => o.Phrase)
                .Concat(Enumerable.Range(0, Attributes.Colours.Length).Select(c => $"{Attributes.Numbers[scene.CountColour(c)]} {Attributes.Colours[c]} objects"))
                .Concat(Enumerable.Range(0, Attributes.Shapes.Length).Select(s => $"{Attributes.Numbers[scene.CountShape(s)]} {Attributes.ShapePlurals[s]}"))
                .Concat(Enumerable.Range(0, 12).Select(k => $"{Attributes.Numbers[scene.Count(k / 3, k % 3)]} {Attributes.Colours[k / 3]} {Attributes.ShapePlurals[k % 3]}"));
            var check = Faithfulness.Check(item, string.Join(", ", facts));
            check.Faithful.Should().BeTrue(item.Question);
            check.Supported.Should().BeTrue(item.Question);
            check.Echo.Should().BeFalse(item.Question);
        }
    }

    [Fact]
    public void A_description_of_another_scene_is_caught_where_it_disagrees_with_this_one()
    {
        // Object phrases of scene B, checked against scene A: each is true exactly when A has that object at that cell.
        var random = new Random(12);
        for (int i = 0; i < 200; i++)
        {
            var a = SceneVepa.World.Scene.Random(random);
            var b = SceneVepa.World.Scene.Random(random);
            var item = QuestionGenerator.Generate(a, random, 0);
            int expectedTrue = b.Objects.Count(o => a.At(o.Cell) == o);
            var check = Faithfulness.Check(item, string.Join(", ", b.Objects.Select(o => o.Phrase)));
            check.Facts.Should().Be(b.Objects.Count);
            check.TrueFacts.Should().Be(expectedTrue);
        }
    }

    [Fact]
    public void The_summary_pools_facts_and_splits_the_readers_accuracy_by_faithfulness()
    {
        var items = new[]
        {
            Item(QuestionFamily.Exist, "is there a red triangle?", "yes"),
            Item(QuestionFamily.Exist, "is there a blue triangle?", "no"),
            Item(QuestionFamily.Count, "how many triangles are there?", "two"),
            Item(QuestionFamily.Exist, "is there a blue circle?", "no"),
        };
        var checks = new[]
        {
            new FaithfulnessCheck(2, 2, 1, 1, false), // faithful, correct
            new FaithfulnessCheck(1, 0, 1, 0, true),  // echo, correct (a right answer from false evidence)
            new FaithfulnessCheck(2, 1, 1, 0, true),  // hallucinated, wrong
            new FaithfulnessCheck(0, 0, 1, 0, false), // no fact, wrong
        };
        var score = FaithfulnessScore.Of(items, checks, [1, 1, 0, 0]);
        score.Items.Should().Be(4);
        score.Precision.Should().BeApproximately(3 / 5.0, 1e-12);
        score.Recall.Should().BeApproximately(1 / 4.0, 1e-12);
        score.HallucinationRate.Should().BeApproximately(2 / 4.0, 1e-12);
        score.EchoRate.Should().BeApproximately(2 / 4.0, 1e-12);
        score.AbsentEchoRate.Should().BeApproximately(1 / 2.0, 1e-12); // items 2 and 4 are existence questions with gold "no"
        score.FaithfulShare.Should().BeApproximately(1 / 4.0, 1e-12);
        score.AccuracyFaithful.Should().BeApproximately(1.0, 1e-12);
        score.AccuracyUnfaithful.Should().BeApproximately(1 / 3.0, 1e-12);
        score.CorrectUnsupported.Should().BeApproximately(1 / 2.0, 1e-12);
    }

    [Fact]
    public void Mismatched_lengths_are_refused_with_the_lengths()
    {
        var act = () => FaithfulnessScore.Of([Item(QuestionFamily.Exist, "is there a red triangle?", "yes")], [], [1]);
        act.Should().Throw<ArgumentException>().WithMessage("*items (1), checks (0) and sufficiency (1)*");
    }
}
