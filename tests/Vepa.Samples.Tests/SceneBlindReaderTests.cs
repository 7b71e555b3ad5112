using Vepa.Samples.SceneVepa.Reading;

namespace Vepa.Samples.Tests;

public sealed class SceneBlindReaderTests
{
    private static readonly SceneBlindReader Lenient = new(strict: false);
    private static readonly SceneBlindReader Strict = new(strict: true);

    [Theory]
    [InlineData("what color is the object at top left?", "big red circle at top left, small blue square at center", "red")]
    [InlineData("what color is the object at top left?", "top left big red circle", "red")]
    [InlineData("what shape is the object at center?", "big red circle at top left, small blue square at center", "square")]
    [InlineData("what size is the object at bottom right?", "at bottom right small green triangle", "small")]
    [InlineData("how many red objects are there?", "two red objects, one blue object", "two")]
    [InlineData("how many triangles are there?", "no triangles", "zero")]
    [InlineData("is there a blue triangle?", "small blue triangle at center", "yes")]
    [InlineData("is there a blue triangle?", "no blue objects", "no")]
    [InlineData("is the red circle left of the blue square?", "red circle at top left, blue square at top right", "yes")]
    [InlineData("is the red circle below the blue square?", "red circle at top left, blue square at bottom left", "no")]
    [InlineData("are there more red objects than blue objects?", "three red objects, one blue object", "yes")]
    [InlineData("are there more circles than squares?", "one circle, two squares", "no")]
    public void Answers_from_the_facts_the_evidence_states(string question, string evidence, string expected)
    {
        var reply = Lenient.Read(question, evidence);
        reply.IsHonest.Should().BeTrue();
        reply.Answer.Should().Be(expected);
        Strict.Read(question, evidence).Answer.Should().Be(expected);
    }

    [Theory]
    [InlineData("what color is the object at top left?", "big red circle at center")] // silent about the cell asked
    [InlineData("what color is the object at top left?", "red circle at top left, blue circle at top left")] // contradictory
    [InlineData("what color is the object at top left?", "red blue green yellow top left")] // candidates not tied to the cell
    [InlineData("what color is the object at top left?", "circle at top left")] // the asked attribute is not stated
    [InlineData("how many red objects are there?", "big red circle at top left, red square at center")] // a listing is not a count
    [InlineData("how many red objects are there?", "two red objects, three red objects")] // disagreeing counts
    [InlineData("is there a blue triangle?", "blue triangle at center, no blue objects")] // contradictory
    [InlineData("is the red circle left of the blue square?", "red circle at top left")] // one object missing
    public void Never_guesses(string question, string evidence)
    {
        Lenient.Read(question, evidence).Answer.Should().BeEmpty();
        Strict.Read(question, evidence).Answer.Should().BeEmpty();
    }

    [Theory]
    [InlineData("what color is the object at top left?", "red")]
    [InlineData("how many red objects are there?", "two")]
    [InlineData("is there a blue triangle?", "yes")]
    [InlineData("what color is the object at top left?", "red blue green yellow top left")] // answer words, no fact
    public void A_bare_answer_is_cheating(string question, string evidence)
    {
        var reply = Lenient.Read(question, evidence);
        reply.IsHonest.Should().BeFalse();
        reply.Answer.Should().BeEmpty();
    }

    [Fact]
    public void A_visual_fact_that_happens_to_be_the_answer_is_not_cheating() =>
        Lenient.Read("how many red objects are there?", "two red objects").IsHonest.Should().BeTrue();

    [Fact]
    public void The_lenient_reader_skips_noise_that_the_strict_reader_rejects()
    {
        const string question = "what color is the object at top left?";
        const string evidence = "the the red circle at top left many";
        Lenient.Read(question, evidence).Answer.Should().Be("red");
        Strict.Read(question, evidence).Answer.Should().BeEmpty();
    }

    [Fact]
    public void The_strict_reader_flags_an_answer_word_beside_facts()
    {
        const string question = "is there a blue triangle?";
        Lenient.Read(question, "blue triangle at center, yes").Answer.Should().Be("yes");
        Strict.Read(question, "blue triangle at center, yes").IsHonest.Should().BeFalse();
    }

    [Fact]
    public async Task Plugs_into_the_sufficiency_reward()
    {
        using var reward = new Vepa.Rewards.SufficiencyRewardModel(Lenient);
        var results = await reward.ScoreAsync(
        [
            new RewardRequest("what color is the object at top left?", "red", "big red circle at top left"),
            new RewardRequest("what color is the object at top left?", "red", "red"),
            new RewardRequest("what color is the object at top left?", "red", "blue square at top left"),
            new RewardRequest("what color is the object at top left?", "B", "big red circle at top left", ["blue", "red", "green"]),
        ]);
        results.Select(r => r.Value).Should().Equal(1.0, 0.0, 0.0, 1.0);
        results[1].Components[RewardComponentNames.Honesty].Should().Be(0);
    }
}
