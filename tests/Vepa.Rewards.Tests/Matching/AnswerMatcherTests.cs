using Vepa.Rewards;

namespace Vepa.Rewards.Tests.Matching;

public sealed class AnswerMatcherTests
{
    private static readonly AnswerMatcher Default = new();

    /// <summary>Open questions: (answer, gold, expected kind). The expected match follows from the kind.</summary>
    public static TheoryData<string, string, AnswerMatchKind> OpenCases => new()
    {
        // Case, punctuation and markdown noise.
        { "red", "red", AnswerMatchKind.Exact },
        { "Red.", "red", AnswerMatchKind.Exact },
        { "**RED**", "red", AnswerMatchKind.Exact },
        { "`red`!", "Red", AnswerMatchKind.Exact },
        { "\"red\"", "red", AnswerMatchKind.Exact },

        // Gold inside a longer answer, negation, hedging.
        { "The cube is red", "red", AnswerMatchKind.Contained },
        { "The cube's colour is red!", "red", AnswerMatchKind.Contained },
        { "The cube is not red", "red", AnswerMatchKind.Negated },
        { "not red", "red", AnswerMatchKind.Negated },
        { "It isn't red.", "red", AnswerMatchKind.Negated },
        { "Neither red nor blue", "red", AnswerMatchKind.Negated },
        { "There is no umbrella", "umbrella", AnswerMatchKind.Negated },
        { "It is not blue, it is red", "red", AnswerMatchKind.Contained },
        { "Not blue but red", "red", AnswerMatchKind.Contained },
        { "No, it is red", "red", AnswerMatchKind.Contained },
        { "red or blue", "red", AnswerMatchKind.Hedged },
        { "2 or 3", "2", AnswerMatchKind.Hedged },
        { "dark red", "red", AnswerMatchKind.Contained },
        { "The man is holding an umbrella", "umbrella", AnswerMatchKind.Contained },

        // Word boundaries and order.
        { "blue", "red", AnswerMatchKind.NoMatch },
        { "bared", "red", AnswerMatchKind.NoMatch },
        { "reddish", "red", AnswerMatchKind.NoMatch },
        { "red cube", "red cube", AnswerMatchKind.Exact },
        { "cube red", "red cube", AnswerMatchKind.NoMatch },
        { "red, cube", "red cube", AnswerMatchKind.NoMatch },
        { "in the box", "in the box", AnswerMatchKind.Exact },
        { "St. Louis", "St. Louis", AnswerMatchKind.Exact },
        { "st louis", "St. Louis", AnswerMatchKind.Exact },
        { "The game starts at 3:45 pm", "3:45", AnswerMatchKind.Contained },
        { "3 45", "3:45", AnswerMatchKind.Exact },
        { "on the box", "in the box", AnswerMatchKind.NoMatch },

        // Empty answers.
        { "", "red", AnswerMatchKind.EmptyAnswer },
        { "   \n", "red", AnswerMatchKind.EmptyAnswer },
        { "...", "red", AnswerMatchKind.NoMatch },

        // Number words and number formats.
        { "two", "2", AnswerMatchKind.Exact },
        { "2", "two", AnswerMatchKind.Exact },
        { "There are two cubes.", "2", AnswerMatchKind.Contained },
        { "twenty-one", "21", AnswerMatchKind.Exact },
        { "twenty one", "21", AnswerMatchKind.Exact },
        { "a dozen", "12", AnswerMatchKind.Exact },
        { "two dozen", "24", AnswerMatchKind.Exact },
        { "one hundred and five", "105", AnswerMatchKind.Exact },
        { "zero", "0", AnswerMatchKind.Exact },
        { "The answer is: 4", "four", AnswerMatchKind.Exact },
        { "3", "2", AnswerMatchKind.NoMatch },
        { "12", "2", AnswerMatchKind.NoMatch },
        { "3.50", "3.5", AnswerMatchKind.Exact },
        { "$3.50", "3.5", AnswerMatchKind.Contained },
        { "1,000", "1000", AnswerMatchKind.Exact },
        { "1,000", "one thousand", AnswerMatchKind.Exact },
        { "-2", "-2", AnswerMatchKind.Exact },
        { "-2", "2", AnswerMatchKind.NoMatch },
        { "3-4", "4", AnswerMatchKind.ListOrRange },
        { "50%", "50", AnswerMatchKind.Equivalent },
        { "50%", "0.5", AnswerMatchKind.Equivalent },
        { "0.5", "50%", AnswerMatchKind.Equivalent },
        { "50 percent", "50%", AnswerMatchKind.Exact },
        { "12.3%", "0.123", AnswerMatchKind.Equivalent },
        { "2.0000001", "2", AnswerMatchKind.NoMatch },

        // Singular/plural variants of the gold, both directions.
        { "cubes", "cube", AnswerMatchKind.Equivalent },
        { "cube", "cubes", AnswerMatchKind.Equivalent },
        { "RED CUBES", "red cube", AnswerMatchKind.Equivalent },
        { "two red cubes", "2 red cube", AnswerMatchKind.Equivalent },
        { "people", "person", AnswerMatchKind.Equivalent },
        { "person", "people", AnswerMatchKind.Equivalent },
        { "children", "child", AnswerMatchKind.Equivalent },
        { "men", "man", AnswerMatchKind.Equivalent },
        { "woman", "women", AnswerMatchKind.Equivalent },
        { "mice", "mouse", AnswerMatchKind.Equivalent },
        { "foot", "feet", AnswerMatchKind.Equivalent },
        { "teeth", "tooth", AnswerMatchKind.Equivalent },
        { "leaf", "leaves", AnswerMatchKind.Equivalent },
        { "knives", "knife", AnswerMatchKind.Equivalent },
        { "boxes", "box", AnswerMatchKind.Equivalent },
        { "bus", "buses", AnswerMatchKind.Equivalent },
        { "cities", "city", AnswerMatchKind.Equivalent },
        { "boys", "boy", AnswerMatchKind.Equivalent },
        { "There are three dogs", "dog", AnswerMatchKind.Contained },
        { "cub", "cube", AnswerMatchKind.NoMatch },

        // Yes/no with synonyms.
        { "yeah", "yes", AnswerMatchKind.YesNo },
        { "Yep, the lamp is on.", "yes", AnswerMatchKind.YesNo },
        { "True", "yes", AnswerMatchKind.YesNo },
        { "correct", "yes", AnswerMatchKind.YesNo },
        { "Affirmative.", "Yes", AnswerMatchKind.YesNo },
        { "nope", "no", AnswerMatchKind.YesNo },
        { "False.", "no", AnswerMatchKind.YesNo },
        { "incorrect", "no", AnswerMatchKind.YesNo },
        { "negative", "no", AnswerMatchKind.YesNo },
        { "not true", "no", AnswerMatchKind.YesNo },
        { "The correct answer is no", "no", AnswerMatchKind.YesNo },
        { "No.", "yes", AnswerMatchKind.WrongPolarity },
        { "Yes", "no", AnswerMatchKind.WrongPolarity },
        { "yes", "true", AnswerMatchKind.YesNo },
        { "maybe", "yes", AnswerMatchKind.NonAnswer },
    };

    /// <summary>Multiple choice: (answer, gold, choices separated by '|', expected kind, expected selected label or "").</summary>
    public static TheoryData<string, string, string, AnswerMatchKind, string> ChoiceCases => new()
    {
        // Explicit labels first.
        { "B", "B", "red|blue|green", AnswerMatchKind.OptionLabel, "B" },
        { "b", "B", "red|blue|green", AnswerMatchKind.OptionLabel, "B" },
        { "(B)", "B", "red|blue|green", AnswerMatchKind.OptionLabel, "B" },
        { "B.", "blue", "red|blue|green", AnswerMatchKind.OptionLabel, "B" },
        { "[B]", "(B)", "red|blue|green", AnswerMatchKind.OptionLabel, "B" },
        { "Option B", "B", "red|blue|green", AnswerMatchKind.OptionLabel, "B" },
        { "answer: b", "B", "red|blue|green", AnswerMatchKind.OptionLabel, "B" },
        { "The answer is (B).", "B", "red|blue|green", AnswerMatchKind.OptionLabel, "B" },
        { "**B**", "B", "red|blue|green", AnswerMatchKind.OptionLabel, "B" },
        { "I pick **B**.", "B", "red|blue|green", AnswerMatchKind.OptionLabel, "B" },
        { "The answer is B because the ball is blue", "B", "red|blue|green", AnswerMatchKind.OptionLabel, "B" },
        { "B) blue", "Option B", "red|blue|green", AnswerMatchKind.OptionLabel, "B" },
        { "C: green", "green", "red|blue|green", AnswerMatchKind.OptionLabel, "C" },
        { "option a is right", "A", "red|blue|green", AnswerMatchKind.OptionLabel, "A" },
        { "a", "A", "red|blue", AnswerMatchKind.OptionLabel, "A" },
        { "The answer is A.", "red", "red|blue", AnswerMatchKind.OptionLabel, "A" },
        { "A", "B", "red|blue|green", AnswerMatchKind.WrongOption, "A" },
        { "B (blue)", "red", "red|blue|green", AnswerMatchKind.WrongOption, "B" },
        { "Not (B), the answer is (C)", "C", "red|blue|green", AnswerMatchKind.OptionLabel, "C" },
        { "Either (A) or (B)", "A", "red|blue|green", AnswerMatchKind.AmbiguousLabel, "" },
        { "(A) is wrong", "B", "red|blue|green", AnswerMatchKind.WrongOption, "A" },
        { "E", "A", "red|blue|green|pink", AnswerMatchKind.NoMatch, "" },

        // Labels inside words and the article "a" are not labels.
        { "Bag", "B", "red|blue|green", AnswerMatchKind.NoMatch, "" },
        { "a blue ball", "B", "red|blue|green", AnswerMatchKind.OptionText, "B" },
        { "The answer is a blue ball", "blue", "red|blue", AnswerMatchKind.OptionText, "B" },
        { "I think it's the cylinder.", "B", "cube|cylinder|sphere", AnswerMatchKind.OptionText, "B" },

        // Option content with the exclusivity rule.
        { "blue", "B", "red|blue|green", AnswerMatchKind.OptionText, "B" },
        { "The ball is blue.", "blue", "red|blue|green", AnswerMatchKind.OptionText, "B" },
        { "It is blue, not red", "blue", "red|blue|green", AnswerMatchKind.OptionText, "B" },
        { "red and blue", "blue", "red|blue|green", AnswerMatchKind.DistractorPresent, "" },
        { "red", "blue", "red|blue|green", AnswerMatchKind.WrongOption, "A" },
        { "Not red", "red", "red|blue", AnswerMatchKind.Negated, "" },
        { "red or blue", "red", "red|blue", AnswerMatchKind.Hedged, "" },
        { "purple", "red", "red|blue", AnswerMatchKind.NoMatch, "" },
        { "The cubes", "cube", "cube|sphere", AnswerMatchKind.OptionText, "A" },
        { "two", "2", "1|2|3", AnswerMatchKind.OptionText, "B" },

        // A right option contained in a distractor (and the reverse): the longer occurrence shadows the shorter one.
        { "dark red", "red", "red|dark red", AnswerMatchKind.WrongOption, "B" },
        { "dark red", "dark red", "red|dark red", AnswerMatchKind.OptionText, "B" },
        { "red", "red", "red|dark red", AnswerMatchKind.OptionText, "A" },
        { "It is red, not dark red", "red", "red|dark red", AnswerMatchKind.OptionText, "A" },

        // Yes/no options by polarity.
        { "yep", "yes", "yes|no", AnswerMatchKind.YesNo, "A" },
        { "Nope", "yes", "yes|no", AnswerMatchKind.WrongPolarity, "B" },
        { "false", "B", "yes|no", AnswerMatchKind.YesNo, "B" },

        // A gold answer that names no option is matched as an open question.
        { "crimson red", "red", "cube|sphere", AnswerMatchKind.Contained, "" },
    };

    [Theory]
    [MemberData(nameof(OpenCases))]
    public void Open_question_table(string answer, string gold, AnswerMatchKind expected)
    {
        AnswerMatch match = Default.Match(answer, gold);

        match.Kind.Should().Be(expected, $"answer \"{answer}\" vs gold \"{gold}\"");
        match.IsMatch.Should().Be(IsMatchKind(expected));
        Default.IsMatch(answer, gold).Should().Be(IsMatchKind(expected));
        match.SelectedOption.Should().BeNull();
    }

    [Theory]
    [MemberData(nameof(ChoiceCases))]
    public void Multiple_choice_table(string answer, string gold, string choices, AnswerMatchKind expected, string selected)
    {
        string[] options = choices.Split('|');

        AnswerMatch match = Default.Match(answer, gold, options);

        match.Kind.Should().Be(expected, $"answer \"{answer}\" vs gold \"{gold}\" with options [{choices}]");
        match.IsMatch.Should().Be(IsMatchKind(expected));
        match.SelectedOption.Should().Be(selected.Length == 0 ? null : selected);
    }

    [Fact]
    public void The_tables_have_at_least_sixty_cases_and_both_outcomes()
    {
        int open = OpenCases.Count;
        int choice = ChoiceCases.Count;

        (open + choice).Should().BeGreaterThanOrEqualTo(60);
        OpenCases.Select(row => (AnswerMatchKind)row[2]).Should().Contain(k => IsMatchKind(k)).And.Contain(k => !IsMatchKind(k));
        ChoiceCases.Select(row => (AnswerMatchKind)row[3]).Should().Contain(k => IsMatchKind(k)).And.Contain(k => !IsMatchKind(k));
    }

    [Theory]
    [InlineData("1.04", "1", 0.0, 0.05, true)]
    [InlineData("1.06", "1", 0.0, 0.05, false)]
    [InlineData("95.1", "100", 0.0, 0.05, true)]
    [InlineData("94.9", "100", 0.0, 0.05, false)]
    [InlineData("2.4", "2", 0.5, 0.0, true)]
    [InlineData("2.6", "2", 0.5, 0.0, false)]
    [InlineData("-2.4", "-2", 0.5, 0.0, true)]
    [InlineData("0.3", "0", 0.0, 0.5, false)]
    [InlineData("0.3", "0", 0.5, 0.5, true)]
    [InlineData("It is about 48%", "0.5", 0.0, 0.05, true)]
    public void Numeric_tolerance_is_max_of_absolute_and_relative_to_gold(string answer, string gold, double absolute, double relative, bool expected)
    {
        var matcher = new AnswerMatcher(new AnswerMatchOptions { AbsoluteTolerance = absolute, RelativeTolerance = relative });

        matcher.IsMatch(answer, gold).Should().Be(expected);
    }

    [Fact]
    public void Number_words_can_be_turned_off()
    {
        var matcher = new AnswerMatcher(new AnswerMatchOptions { MatchNumberWords = false });

        matcher.IsMatch("two", "2").Should().BeFalse();
        matcher.IsMatch("two", "two").Should().BeTrue();
        Default.IsMatch("two", "2").Should().BeTrue();
    }

    [Fact]
    public void Inflections_can_be_turned_off()
    {
        var matcher = new AnswerMatcher(new AnswerMatchOptions { MatchInflections = false });

        matcher.IsMatch("cubes", "cube").Should().BeFalse();
        matcher.IsMatch("people", "person").Should().BeFalse();
        matcher.IsMatch("cube", "cube").Should().BeTrue();
    }

    [Fact]
    public void Yes_no_synonyms_can_be_turned_off()
    {
        var matcher = new AnswerMatcher(new AnswerMatchOptions { MatchYesNoSynonyms = false });

        matcher.Match("yeah", "yes").Kind.Should().Be(AnswerMatchKind.NoMatch);
        matcher.Match("Yes.", "yes").Kind.Should().Be(AnswerMatchKind.Exact);
    }

    [Fact]
    public void Containment_can_be_turned_off()
    {
        var matcher = new AnswerMatcher(new AnswerMatchOptions { AllowContainment = false });

        matcher.Match("The cube is red", "red").Kind.Should().Be(AnswerMatchKind.NoMatch);
        matcher.Match("It is red.", "red").Kind.Should().Be(AnswerMatchKind.Exact, "\"it\" and \"is\" are stop words");
        matcher.Match("The ball is blue", "blue", ["red", "blue"]).Kind.Should().Be(AnswerMatchKind.NoMatch);
        matcher.Match("blue", "blue", ["red", "blue"]).Kind.Should().Be(AnswerMatchKind.OptionText);
    }

    [Fact]
    public void Negation_window_limits_how_far_back_a_negation_reaches()
    {
        var off = new AnswerMatcher(new AnswerMatchOptions { NegationWindow = 0 });
        var one = new AnswerMatcher(new AnswerMatchOptions { NegationWindow = 1 });

        off.Match("not red", "red").Kind.Should().Be(AnswerMatchKind.Contained);
        one.Match("not red", "red").Kind.Should().Be(AnswerMatchKind.Negated);
        one.Match("not very dark red", "red").Kind.Should().Be(AnswerMatchKind.Contained);
        Default.Match("not very dark red", "red").Kind.Should().Be(AnswerMatchKind.Negated);
    }

    [Fact]
    public void Custom_stop_words_replace_the_default_list_but_never_remove_negations()
    {
        var matcher = new AnswerMatcher(new AnswerMatchOptions { StopWords = ["colour", "not", "The"] });

        matcher.Match("colour red", "red").Kind.Should().Be(AnswerMatchKind.Exact);
        matcher.Match("the red", "red").Kind.Should().Be(AnswerMatchKind.Exact);
        matcher.Match("is red", "red").Kind.Should().Be(AnswerMatchKind.Contained, "\"is\" is no longer a stop word");
        matcher.Match("not red", "red").Kind.Should().Be(AnswerMatchKind.Negated, "negations are never stop words");
    }

    [Fact]
    public void A_gold_made_of_stop_words_keeps_every_word()
    {
        Default.Match("it", "it").Kind.Should().Be(AnswerMatchKind.Exact);
        Default.Match("this one", "this").Kind.Should().Be(AnswerMatchKind.Contained);
        Default.Match("that", "this").Kind.Should().Be(AnswerMatchKind.NoMatch);
    }

    [Fact]
    public void Null_answer_throws_ArgumentNullException()
    {
        Action act = () => Default.Match(null!, "red");

        act.Should().Throw<ArgumentNullException>().Which.ParamName.Should().Be("answer");
    }

    [Theory]
    [InlineData("")]
    [InlineData("  ")]
    public void Empty_gold_throws_ArgumentException(string gold)
    {
        Action act = () => Default.Match("red", gold);

        act.Should().Throw<ArgumentException>().Which.ParamName.Should().Be("goldAnswer");
    }

    [Fact]
    public void Too_few_choices_throw_with_the_count()
    {
        Action act = () => Default.Match("red", "red", ["red"]);

        act.Should().Throw<ArgumentException>()
            .WithMessage("A multiple-choice item needs 2 to 26 choices (labels A-Z); got 1.*")
            .Which.ParamName.Should().Be("choices");
    }

    [Fact]
    public void An_empty_choice_throws_naming_its_label()
    {
        Action act = () => Default.Match("red", "red", ["red", " ", "blue"]);

        act.Should().Throw<ArgumentException>()
            .WithMessage("Choice B (index 1) is null or empty.*")
            .Which.ParamName.Should().Be("choices");
    }

    [Fact]
    public void Invalid_options_list_every_problem()
    {
        var options = new AnswerMatchOptions { AbsoluteTolerance = -1, RelativeTolerance = 1.5, NegationWindow = 20, StopWords = ["ok", "two words"] };

        Action act = () => _ = new AnswerMatcher(options);

        act.Should().Throw<ArgumentException>()
            .WithMessage(
                "The answer-matching options are invalid: AbsoluteTolerance must be finite and >= 0; got -1. "
                + "RelativeTolerance must be in [0, 1); got 1.5. NegationWindow must be in [0, 16]; got 20. "
                + "StopWords must hold single non-empty words; entry 1 is \"two words\".*")
            .Which.ParamName.Should().Be("options");
    }

    [Theory]
    [InlineData(double.NaN, 0.0, "AbsoluteTolerance must be finite and >= 0; got NaN.")]
    [InlineData(double.PositiveInfinity, 0.0, "AbsoluteTolerance must be finite and >= 0; got Infinity.")]
    [InlineData(0.0, double.NaN, "RelativeTolerance must be in [0, 1); got NaN.")]
    [InlineData(0.0, 1.0, "RelativeTolerance must be in [0, 1); got 1.")]
    public void Non_finite_or_out_of_range_tolerances_are_rejected(double absolute, double relative, string problem)
    {
        Action act = () => _ = new AnswerMatcher(new AnswerMatchOptions { AbsoluteTolerance = absolute, RelativeTolerance = relative });

        act.Should().Throw<ArgumentException>().WithMessage($"*{problem}*");
    }

    [Fact]
    public void Options_have_the_documented_defaults()
    {
        var options = new AnswerMatchOptions();

        options.AbsoluteTolerance.Should().Be(0);
        options.RelativeTolerance.Should().Be(1e-9);
        options.MatchNumberWords.Should().BeTrue();
        options.MatchInflections.Should().BeTrue();
        options.MatchYesNoSynonyms.Should().BeTrue();
        options.AllowContainment.Should().BeTrue();
        options.NegationWindow.Should().Be(3);
        options.StopWords.Should().BeNull();
        AnswerMatchOptions.DefaultStopWords.Should().Contain(["a", "an", "the", "is"]).And.NotContain(["no", "not", "none", "in", "on"]);
    }

    [Fact]
    public void The_matcher_copies_its_options()
    {
        var options = new AnswerMatchOptions();
        var matcher = new AnswerMatcher(options);

        options.AllowContainment = false;

        matcher.IsMatch("The cube is red", "red").Should().BeTrue();
    }

    private static bool IsMatchKind(AnswerMatchKind kind) => kind is AnswerMatchKind.Exact or AnswerMatchKind.Equivalent
        or AnswerMatchKind.Contained or AnswerMatchKind.YesNo or AnswerMatchKind.OptionLabel or AnswerMatchKind.OptionText;
}
