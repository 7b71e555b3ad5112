using Vepa.Samples.SceneVepa.Reading;
using Vepa.Samples.SceneVepa.World;

namespace Vepa.Samples.Tests;

public sealed class SceneWorldTests
{
    [Fact]
    public void Every_generated_question_is_answered_correctly_by_the_reader_from_a_full_description()
    {
        var random = new Random(3);
        var reader = new SceneBlindReader(strict: true);
        for (int i = 0; i < 300; i++)
        {
            var scene = Scene.Random(random);
            var item = QuestionGenerator.Generate(scene, random, 0);
            // A complete description: every object and every count the families ask about.
            var facts = scene.Objects.Select(o => o.Phrase)
                .Concat(Enumerable.Range(0, Attributes.Colours.Length).Select(c => $"{Attributes.Numbers[scene.CountColour(c)]} {Attributes.Colours[c]} objects"))
                .Concat(Enumerable.Range(0, Attributes.Shapes.Length).Select(s => $"{Attributes.Numbers[scene.CountShape(s)]} {Attributes.ShapePlurals[s]}"))
                .Concat(Enumerable.Range(0, Attributes.Colours.Length * Attributes.Shapes.Length).Select(k =>
                    $"{Attributes.Numbers[scene.Count(k / 3, k % 3)]} {Attributes.Colours[k / 3]} {Attributes.ShapePlurals[k % 3]}"));
            reader.Read(item.Question, string.Join(", ", facts)).Answer.Should().Be(item.Gold, item.Question);
        }
    }

    [Fact]
    public void Coarse_captions_are_true_and_mention_at_most_two_things()
    {
        var random = new Random(4);
        var reader = new SceneBlindReader(strict: true);
        for (int i = 0; i < 200; i++)
        {
            var scene = Scene.Random(random);
            string caption = Captions.Coarse(scene, random);
            caption.Split(',').Length.Should().BeInRange(1, 2);
            var facts = SceneFacts.Parse(caption, strict: true);
            facts.UnparsedSegments.Should().Be(0, caption);
            foreach (var o in facts.Objects)
            {
                var truth = scene.At(o.Cell!.Value);
                truth.Should().NotBeNull(caption);
                (truth!.Colour, truth.Shape, truth.Size).Should().Be((o.Colour!.Value, o.Shape!.Value, o.Size!.Value), caption);
            }
        }
    }

    [Fact]
    public void Shapes_sizes_and_colours_draw_differently()
    {
        float[] Draw(int colour, int shape, int size) => new Scene([new SceneObject(colour, shape, size, 4)], drawSeed: 1).Render();
        var reference = Draw(0, 0, 0);
        Draw(0, 1, 0).Should().NotEqual(reference);
        Draw(0, 0, 1).Should().NotEqual(reference);
        Draw(1, 0, 0).Should().NotEqual(reference);
        reference.Should().OnlyContain(v => v >= 0 && v <= 1);
    }

    [Fact]
    public async Task The_prior_reader_answers_without_looking_and_the_filter_drops_what_it_guesses()
    {
        var random = new Random(5);
        var training = Enumerable.Range(0, 500).Select(_ => QuestionGenerator.Generate(Scene.Random(random), random, 0)).ToList();
        var prior = new PriorReader(training);
        var items = Enumerable.Range(0, 200).Select(_ => QuestionGenerator.Generate(Scene.Random(random), random, 0.3)).ToList();
        var demanding = await Vepa.Samples.SceneVepa.Stages.SceneData.VisuallyDependentAsync(prior, items, default);
        demanding.Count.Should().BeInRange(20, 190);
        foreach (var item in demanding)
        {
            (await prior.ReadAsync(new Vepa.Rewards.BlindReaderQuery(item.Question, string.Empty, item.Choices))).Answer.Should().NotBe(item.Gold);
        }
    }
}
