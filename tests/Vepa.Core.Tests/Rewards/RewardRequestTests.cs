namespace Vepa.Core.Tests.Rewards;

public sealed class RewardRequestTests
{
    [Fact]
    public void Valid_open_question_keeps_its_fields()
    {
        var request = new RewardRequest("What colour?", "red", "A red ball.") { Id = "p0-s1" };

        request.Question.Should().Be("What colour?");
        request.GoldAnswer.Should().Be("red");
        request.Evidence.Should().Be("A red ball.");
        request.Choices.Should().BeNull();
        request.Id.Should().Be("p0-s1");
    }

    [Fact]
    public void Empty_evidence_is_legal()
    {
        var request = new RewardRequest("What colour?", "red", string.Empty);

        request.Evidence.Should().BeEmpty();
    }

    [Theory]
    [InlineData("question")]
    [InlineData("goldAnswer")]
    [InlineData("evidence")]
    public void Null_text_throws_ArgumentNullException_naming_the_argument(string which)
    {
        Action act = () => _ = new RewardRequest(
            which == "question" ? null! : "Q?",
            which == "goldAnswer" ? null! : "A",
            which == "evidence" ? null! : "E");

        act.Should().Throw<ArgumentNullException>().Which.ParamName.Should().Be(which);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    public void Empty_question_throws_with_the_actual_value(string question)
    {
        Action act = () => _ = new RewardRequest(question, "A", "E");

        act.Should().Throw<ArgumentException>()
            .WithMessage($"The question must contain text; got \"{question}\" (empty or white space only). (Parameter 'question')")
            .Which.ParamName.Should().Be("question");
    }

    [Theory]
    [InlineData("")]
    [InlineData("\t")]
    public void Empty_gold_answer_throws_with_the_actual_value(string gold)
    {
        Action act = () => _ = new RewardRequest("Q?", gold, "E");

        act.Should().Throw<ArgumentException>()
            .WithMessage($"The gold answer must contain text; got \"{gold}\" (empty or white space only). (Parameter 'goldAnswer')")
            .Which.ParamName.Should().Be("goldAnswer");
    }

    [Fact]
    public void Fewer_than_two_choices_throws()
    {
        Action act = () => _ = new RewardRequest("Q?", "A", "E", ["only"]);

        act.Should().Throw<ArgumentException>()
            .WithMessage("A multiple-choice item needs at least two choices; got 1. (Parameter 'choices')");
    }

    [Fact]
    public void More_than_26_choices_throws()
    {
        string[] choices = [.. Enumerable.Range(0, 27).Select(i => $"option {i}")];

        Action act = () => _ = new RewardRequest("Q?", "A", "E", choices);

        act.Should().Throw<ArgumentException>()
            .WithMessage("At most 26 choices (labels A-Z) are supported; got 27. (Parameter 'choices')");
    }

    [Fact]
    public void Duplicate_choices_throw_naming_the_duplicate()
    {
        Action act = () => _ = new RewardRequest("Q?", "A", "E", ["red", "blue", " Red "]);

        act.Should().Throw<ArgumentException>()
            .WithMessage("Choice C (index 2) duplicates an earlier choice: \" Red \". (Parameter 'choices')")
            .Which.ParamName.Should().Be("choices");
    }

    [Fact]
    public void Empty_choice_throws_naming_its_label()
    {
        Action act = () => _ = new RewardRequest("Q?", "A", "E", ["red", " "]);

        act.Should().Throw<ArgumentException>()
            .WithMessage("Choice B (index 1) is null or empty. (Parameter 'choices')");
    }

    [Theory]
    [InlineData("D")]
    [InlineData("(d)")]
    [InlineData("E.")]
    public void Gold_option_label_outside_the_choices_throws(string gold)
    {
        Action act = () => _ = new RewardRequest("Q?", gold, "E", ["red", "green", "blue"]);

        act.Should().Throw<ArgumentException>()
            .WithMessage($"The gold answer is option label \"{gold.Trim('(', ')', '.')}\", but there are only 3 choices (A-C). (Parameter 'goldAnswer')")
            .Which.ParamName.Should().Be("goldAnswer");
    }

    [Theory]
    [InlineData("C")]
    [InlineData("(b)")]
    [InlineData("green")]
    public void Gold_as_a_label_inside_the_choices_or_as_option_text_is_legal(string gold)
    {
        var request = new RewardRequest("Q?", gold, "E", ["red", "green", "blue"]);

        request.Choices.Should().Equal("red", "green", "blue");
    }

    [Fact]
    public void A_single_letter_gold_that_is_also_a_choice_text_is_legal()
    {
        var request = new RewardRequest("Which letter is shown?", "x", "E", ["a", "x"]);

        request.GoldAnswer.Should().Be("x");
    }

    [Theory]
    [InlineData(0, "A")]
    [InlineData(1, "B")]
    [InlineData(25, "Z")]
    public void OptionLabel_maps_index_to_letter(int index, string label) => RewardRequest.OptionLabel(index).Should().Be(label);

    [Theory]
    [InlineData(-1)]
    [InlineData(26)]
    public void OptionLabel_outside_0_to_25_throws(int index)
    {
        Action act = () => RewardRequest.OptionLabel(index);

        act.Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be("index");
    }
}
