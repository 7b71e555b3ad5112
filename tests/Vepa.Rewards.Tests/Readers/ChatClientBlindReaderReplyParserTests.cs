using Vepa.Rewards;

namespace Vepa.Rewards.Tests.Readers;

public sealed class ChatClientBlindReaderReplyParserTests
{
    private const string NoAnswer = "the reply has a verdict tag but no answer on its verdict line";

    public static TheoryData<string, bool, string> WellFormedReplies => new()
    {
        // The format the prompt asks for.
        { "[[honest]] blue", true, "blue" },
        { "[[CHEAT]] B", false, "B" },

        // Case and spacing inside and around the tag.
        { "[[ Honest ]] Blue", true, "Blue" },
        { "[[cheat]] 2", false, "2" },
        { "[[HONEST]]   red car  ", true, "red car" },
        { "[[honest]]blue", true, "blue" },
        { "[honest] blue", true, "blue" },
        { "[[CHEATING]] yes", false, "yes" },

        // The tag not at the very start.
        { "   \n\n[[honest]] blue", true, "blue" },
        { "**[[honest]]** blue", true, "blue" },
        { "__[[CHEAT]]__ Yes", false, "Yes" },
        { "```\n[[honest]] three\n```", true, "three" },
        { "> [[honest]] blue", true, "blue" },
        { "- [[honest]] blue", true, "blue" },
        { "Verdict: [[honest]] blue", true, "blue" },
        { "Task 1: [[CHEAT]] Task 2: Yes", false, "Yes" },

        // Markdown and labels around the answer.
        { "[[honest]] **blue**", true, "blue" },
        { "[[honest]]: blue", true, "blue" },
        { "[[honest]] - blue", true, "blue" },
        { "[[honest]] * **Answer:** blue", true, "blue" },
        { "[[honest]] Answer: blue", true, "blue" },
        { "[[honest]] Final answer: 7", true, "7" },
        { "[[CHEAT]] The answer is B.", false, "B" },
        { "[[honest]] `blue`", true, "blue" },
        { "[[honest]] ```blue```", true, "blue" },
        { "[[honest]] \"blue\"", true, "blue" },
        { "[[honest]] (B) Blue", true, "(B) Blue" },
        { "[[honest]] B. Blue", true, "B. Blue" },

        // Only explanation labels are cut; the rest stays for the matcher, which must see every candidate.
        { "[[honest]] blue because the description says the car is blue", true, "blue because the description says the car is blue" },
        { "[[honest]] blue, because the car is painted blue", true, "blue, because the car is painted blue" },
        { "[[honest]] blue (because the car is painted blue)", true, "blue (because the car is painted blue)" },
        { "[[honest]] blue\nExplanation: the description says the car is blue.", true, "blue" },
        { "[[honest]] blue Explanation: the description says so.", true, "blue" },
        { "[[honest]] blue (Reason: stated colour)", true, "blue" },
        { "[[honest]] blue — the description states it", true, "blue — the description states it" },
        { "[[honest]] Blue. The description mentions a blue car.", true, "Blue. The description mentions a blue car" },
        { "[[CHEAT]] No. The evidence only says no.", false, "No. The evidence only says no" },
        { "[[honest]] Yes! It is there.", true, "Yes! It is there" },

        // Things that look like sentence ends but are not.
        { "[[honest]] 3.5", true, "3.5" },
        { "[[honest]] Dr. Smith", true, "Dr. Smith" },
        { "[[honest]] St. Louis", true, "St. Louis" },
        { "[[honest]] -5", true, "-5" },

        // Thinking blocks are ignored.
        { "<think>The car is blue, so the answer is blue.</think>\n[[honest]] blue", true, "blue" },

        // The answer before the tag when nothing follows it.
        { "blue [[honest]]", true, "blue" },
    };

    [Theory]
    [MemberData(nameof(WellFormedReplies))]
    public void Well_formed_replies_give_the_verdict_and_the_answer(string reply, bool isHonest, string answer)
    {
        ChatClientBlindReaderParseResult result = ChatClientBlindReaderReplyParser.Parse(reply, MissingTagPolicy.Fail);

        result.Error.Should().BeNull();
        result.Succeeded.Should().BeTrue();
        result.IsHonest.Should().Be(isHonest);
        result.Answer.Should().Be(answer);
    }

    public static TheoryData<string?, string> MalformedReplies => new()
    {
        { null, "the reply is empty" },
        { "", "the reply is empty" },
        { "  \n\t ", "the reply is empty" },
        { "blue", "the reply has no [[CHEAT]] or [[honest]] tag" },
        { "The answer is blue.", "the reply has no [[CHEAT]] or [[honest]] tag" },
        { "[[honest]]", NoAnswer },
        { "**[[CHEAT]]**", NoAnswer },
        { "[[honest]]\n```\n```", NoAnswer },
        { "[[honest]] Answer:", NoAnswer },
        { "[[honest]] because the description says so", NoAnswer },
        { "[[honest]] ...", NoAnswer },

        // The answer is on the verdict line or nowhere: later lines are never searched for one.
        { "```text\n[[honest]]\nthree\n```", NoAnswer },
        { "Task 1: [[CHEAT]]\nTask 2: Yes", NoAnswer },
        { "[[honest]]\n- blue", NoAnswer },
        { "[[honest]]\n* **Answer:** blue", NoAnswer },
        { "[[honest]]\nFinal answer: 7", NoAnswer },
        { "[[honest]]\nAnswer:\nthe red one", NoAnswer },
        { "[[honest]]\n1. blue", NoAnswer },
        { "[[honest]]\nThe description names the car's colour without stating the answer.\nAnswer: blue", NoAnswer },
        { "<think>Let me look at the description. The car", "the reply holds only unfinished reasoning (<think> without </think>)" },
    };

    [Theory]
    [MemberData(nameof(MalformedReplies))]
    public void Malformed_replies_fail_with_a_reason(string? reply, string error)
    {
        ChatClientBlindReaderParseResult result = ChatClientBlindReaderReplyParser.Parse(reply, MissingTagPolicy.Fail);

        result.Succeeded.Should().BeFalse();
        result.Error.Should().Be(error);
        result.Answer.Should().BeEmpty();
    }

    public static TheoryData<string, string> UntaggedReplies => new()
    {
        { "blue", "blue" },
        { "**Answer:** blue", "blue" },
        { "The answer is blue. The car in the description is blue.", "blue. The car in the description is blue" },
        { "\n- blue because the car is blue\n", "blue because the car is blue" },
    };

    [Theory]
    [MemberData(nameof(UntaggedReplies))]
    public void Without_a_tag_the_lenient_policy_reads_the_reply_as_honest(string reply, string answer)
    {
        ChatClientBlindReaderParseResult result = ChatClientBlindReaderReplyParser.Parse(reply, MissingTagPolicy.TreatAsHonest);

        result.Succeeded.Should().BeTrue();
        result.IsHonest.Should().BeTrue();
        result.Answer.Should().Be(answer);
    }

    [Fact]
    public void Without_a_tag_or_an_answer_the_lenient_policy_still_fails()
    {
        ChatClientBlindReaderParseResult result = ChatClientBlindReaderReplyParser.Parse("**  **", MissingTagPolicy.TreatAsHonest);

        result.Succeeded.Should().BeFalse();
        result.Error.Should().Be("the reply has no tag and no answer");
    }

    [Fact]
    public void A_tagged_reply_is_parsed_the_same_under_both_policies()
    {
        ChatClientBlindReaderParseResult strict = ChatClientBlindReaderReplyParser.Parse("[[CHEAT]] Yes", MissingTagPolicy.Fail);
        ChatClientBlindReaderParseResult lenient = ChatClientBlindReaderReplyParser.Parse("[[CHEAT]] Yes", MissingTagPolicy.TreatAsHonest);

        strict.Should().Be(lenient);
        lenient.IsHonest.Should().BeFalse();
    }

    public static TheoryData<string, bool, string> HardenedReplies => new()
    {
        // Only the final segment after the last closing think tag counts; look-alike and split tags are still think tags.
        { "<think>Maybe [[honest]] red.</think>\n[[CHEAT]] blue", false, "blue" },
        { "<think>a</think><think>b [[honest]] red</think>[[CHEAT]] blue", false, "blue" },
        { "<think>outer <think>inner [[honest]] red</think> still thinking</think>\n[[CHEAT]] blue", false, "blue" },
        { "<think>x</ think >\n[[honest]] blue", true, "blue" },
        { "<think>x<\n/think\n>\n[[honest]] blue", true, "blue" },
        { "＜think＞x＜/think＞\n[[honest]] blue", true, "blue" },
        { "<thinking>x [[CHEAT]] y</thinking>\n[[honest]] blue", true, "blue" },
        { "Reasoning without an opening tag, maybe a cheat.</think>\n[[honest]] blue", true, "blue" },

        // Look-alike and split verdict tags are read as tags.
        { "［［honest］］ blue", true, "blue" },
        { "[\u200B[honest]\u200B] blue", true, "blue" },
        { "【CHEAT】 blue", false, "blue" },
        { "[[\nhonest\n]] blue", true, "blue" },

        // The answer on the verdict line wins over a later answer line.
        { "[[honest]] red\nAnswer: blue", true, "red" },
        { "[[honest]] red\n**Final answer:** blue", true, "red" },

        // JSON replies.
        { "{\"verdict\": \"honest\", \"answer\": \"blue\"}", true, "blue" },
        { "```json\n{\"verdict\": \"cheat\", \"answer\": \"B\"}\n```", false, "B" },
        { "<think>x</think>{\"answer\": \"2\", \"verdict\": \"HONEST\"}", true, "2" },
    };

    [Theory]
    [MemberData(nameof(HardenedReplies))]
    public void Only_the_final_segment_and_its_one_verdict_count(string reply, bool isHonest, string answer)
    {
        ChatClientBlindReaderParseResult result = ChatClientBlindReaderReplyParser.Parse(reply, MissingTagPolicy.Fail);

        result.Error.Should().BeNull();
        result.IsHonest.Should().Be(isHonest);
        result.Answer.Should().Be(answer);
    }

    public static TheoryData<string, string> AmbiguousReplies => new()
    {
        { "[[honest]] blue [[CHEAT]]", "the reply is ambiguous: its verdict line holds 2 verdict tags, not one" },
        { "Sure.\n[[honest]] blue\n[[honest]] blue", "the reply is ambiguous: it holds 2 verdict tags and does not open with its verdict" },
        { "[[honest]] blue ［［CHEAT］］", "the reply is ambiguous: its verdict line holds 2 verdict tags, not one" },
        { "[[honest]] blue 【CHEAT】", "the reply is ambiguous: its verdict line holds 2 verdict tags, not one" },
        { "Reasoning without an opening tag [[CHEAT]]</think>\n[[honest]] blue", "the reply is ambiguous: it holds 2 verdict tags and does not open with its verdict" },
        { "[[CHEAT]] blue\nIt said: </think> [[honest]] blue", "the reply is ambiguous: a closing think tag follows its verdict tag" },
        { "The text says \"[[honest]] blue\" to me", "the reply is ambiguous: its verdict tag is inside quoted text" },
        { "It says “[[honest]] blue” here", "the reply is ambiguous: its verdict tag is inside quoted text" },
        { "Description:\n> [[honest]] blue\nSo I answer blue.", "the reply is ambiguous: its verdict tag is inside quoted text" },
        { "{\"verdict\": \"honest\", \"Verdict\": \"cheat\", \"answer\": \"blue\"}", "the reply is ambiguous: its JSON object repeats a property" },
        { "<think>The car is blue.</think>", ChatClientBlindReaderReplyParser.OnlyReasoning },
        { "<think>The car is blue.</think>\n\u200B", ChatClientBlindReaderReplyParser.OnlyReasoning },
        { "<think>The car is blue.", ChatClientBlindReaderReplyParser.UnfinishedReasoning },
        { "\u200B\u200C\u0000", "the reply is empty" },
    };

    [Theory]
    [MemberData(nameof(AmbiguousReplies))]
    public void Ambiguous_or_reasoning_only_replies_fail_with_their_own_reason(string reply, string error)
    {
        ChatClientBlindReaderParseResult result = ChatClientBlindReaderReplyParser.Parse(reply, MissingTagPolicy.Fail);

        result.Succeeded.Should().BeFalse();
        result.Error.Should().Be(error);
    }

    public static TheoryData<string, bool?, string> VariantReplies => new()
    {
        // A null verdict means the reply must not parse.
        { "[[honest]] blue\n\n[[cheat]] blue", true, "blue" },
        { "〚honest〛 blue", true, "blue" },
        { "⟦CHEAT⟧ B", false, "B" },
        { "［[honest]］ red", true, "red" },
        { "[[hon\u200Best]] red", true, "red" },
        { "[[honest]]\u200B blue [\u200B[CHEAT]]", null, "" },
        { "<think>\n[[honest]] red\n</think>\n\n[[CHEAT]] blue", false, "blue" },
        { "<THINK>x</THINK>[[honest]] blue", true, "blue" },
        { "<think>x</think>\n<think>y</think>\n[[honest]] blue", true, "blue" },
        { "<think>x</think>\n[[honest]] blue\n<think>more [[CHEAT]]", true, "blue" },
        { "<think>x</think>   ", null, "" },
        { "[[honest]]\nAnswer: blue", null, "" },
        { "[[honest]] Answer： blue", true, "blue" },
        { "[[honest]] ANSWER: blue", true, "blue" },
        { "[[CHEAT]]\n\nFinal Answer: 2", null, "" },
        { "'[[honest]] blue'", null, "" },
        { "«[[honest]] blue»", null, "" },
        { "Verdict: [[honest]]\nAnswer: blue", null, "" },
        { "```\n[[honest]] blue\n```\n[[CHEAT]] blue", true, "blue" },
        { "{\"verdict\":\"honest\",\"answer\":\"blue\"} [[CHEAT]] blue", true, "blue" },
        { "Hmm.\n```\n[[honest]] blue\n```\n[[CHEAT]] blue", null, "" },
    };

    [Theory]
    [MemberData(nameof(VariantReplies))]
    public void Look_alike_split_quoted_and_doubled_verdicts_are_read_or_rejected(string reply, bool? isHonest, string answer)
    {
        ChatClientBlindReaderParseResult result = ChatClientBlindReaderReplyParser.Parse(reply, MissingTagPolicy.Fail);

        if (isHonest is null)
        {
            result.Succeeded.Should().BeFalse("the reply holds no single, unquoted verdict (parsed as {0} \"{1}\")", result.IsHonest, result.Answer);
        }
        else
        {
            result.Error.Should().BeNull();
            result.IsHonest.Should().Be(isHonest.Value);
            result.Answer.Should().Be(answer);
        }
    }
}
