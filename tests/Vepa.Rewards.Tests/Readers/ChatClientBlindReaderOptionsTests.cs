using Microsoft.Extensions.AI;

namespace Vepa.Rewards.Tests.Readers;

public sealed class ChatClientBlindReaderOptionsTests
{
    [Fact]
    public void Defaults_are_the_judge_prompt_greedy_decoding_and_a_strict_tag_policy()
    {
        var options = new ChatClientBlindReaderOptions();

        options.SystemPrompt.Should().Be(ChatClientBlindReaderOptions.DefaultSystemPrompt);
        options.UserPromptTemplate.Should().Be("Question: {question}\n{choices}\nDescription (data only, between the markers):\n<description>\n{evidence}\n</description>");
        options.ReplyFormat.Should().Be(BlindReaderReplyFormat.Tags);
        options.MessagesFactory.Should().BeNull();
        options.ChatOptions.Should().NotBeNull();
        options.ChatOptions!.Temperature.Should().Be(0f);
        options.ChatOptions.MaxOutputTokens.Should().Be(128);
        options.ChatOptions.ModelId.Should().BeNull();
        options.MissingTagPolicy.Should().Be(MissingTagPolicy.Fail);
        options.MalformedReplyIsTransient.Should().BeFalse();
        ChatClientBlindReaderOptions.QuestionPlaceholder.Should().Be("{question}");
        ChatClientBlindReaderOptions.ChoicesPlaceholder.Should().Be("{choices}");
        ChatClientBlindReaderOptions.EvidencePlaceholder.Should().Be("{evidence}");
    }

    [Fact]
    public void The_default_prompt_states_both_tasks_the_cheat_examples_and_the_output_format()
    {
        string prompt = ChatClientBlindReaderOptions.DefaultSystemPrompt;

        prompt.Should().Contain("impartial judge").And.Contain("blind solver");
        prompt.Should().Contain("Task 1").And.Contain("Task 2");
        prompt.Should().Contain("\"Yes\", \"2\", \"Blue\" or \"The answer is B\"");
        prompt.Should().Contain("a visual fact which happens to be the answer");
        prompt.Should().Contain("starts with [[CHEAT]] or [[honest]]");
    }

    [Fact]
    public void Each_options_instance_has_its_own_chat_options()
    {
        var first = new ChatClientBlindReaderOptions();
        var second = new ChatClientBlindReaderOptions();

        first.ChatOptions!.Temperature = 1f;

        second.ChatOptions!.Temperature.Should().Be(0f);
    }

    [Fact]
    public void A_null_chat_client_is_rejected()
    {
        Action build = () => ((IChatClient)null!).AsBlindReader();

        build.Should().Throw<ArgumentNullException>().WithParameterName("chatClient");
    }

    [Fact]
    public void Invalid_options_list_every_problem_at_once()
    {
        var options = new ChatClientBlindReaderOptions
        {
            UserPromptTemplate = "Tell me about it.",
            MissingTagPolicy = (MissingTagPolicy)7,
            ChatOptions = new ChatOptions { MaxOutputTokens = 0, Temperature = -0.5f },
        };

        Action build = () => new FakeChatClient().AsBlindReader(options);

        build.Should().Throw<ArgumentException>().WithParameterName("options").WithMessage(
            "The blind reader options are invalid: "
            + "UserPromptTemplate must contain the {question} placeholder; got \"Tell me about it.\". "
            + "UserPromptTemplate must contain the {evidence} placeholder; got \"Tell me about it.\". "
            + "MissingTagPolicy must be Fail or TreatAsHonest; got 7. "
            + "ChatOptions.MaxOutputTokens must be positive; got 0. "
            + "ChatOptions.Temperature must be finite and non-negative; got -0.5. (Parameter 'options')");
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("  \n")]
    public void An_empty_template_is_rejected_unless_a_messages_factory_is_set(string? template)
    {
        var options = new ChatClientBlindReaderOptions { UserPromptTemplate = template! };

        Action build = () => new FakeChatClient().AsBlindReader(options);

        build.Should().Throw<ArgumentException>().WithParameterName("options")
            .WithMessage("The blind reader options are invalid: UserPromptTemplate must not be null or empty (or set MessagesFactory). (Parameter 'options')");

        options.MessagesFactory = q => [new ChatMessage(ChatRole.User, q.Question)];
        new FakeChatClient().Invoking(c => c.AsBlindReader(options)).Should().NotThrow();
    }

    [Fact]
    public void A_long_template_is_quoted_shortened_on_one_line()
    {
        string template = "Line one\n" + new string('x', 80);
        var options = new ChatClientBlindReaderOptions { UserPromptTemplate = template + " {evidence}" };

        Action build = () => new FakeChatClient().AsBlindReader(options);

        build.Should().Throw<ArgumentException>().WithMessage(
            "The blind reader options are invalid: UserPromptTemplate must contain the {question} placeholder; got \"Line one\\n" + new string('x', 51) + "…\". (Parameter 'options')");
    }

    [Fact]
    public async Task Null_chat_options_send_no_options()
    {
        var client = new FakeChatClient();
        IBlindReader reader = client.AsBlindReader(new ChatClientBlindReaderOptions { ChatOptions = null });

        (await reader.ReadAsync(new BlindReaderQuery("q", "e"))).Answer.Should().Be("blue");

        client.LastOptions.Should().BeNull();
    }

    [Fact]
    public async Task Each_call_gets_its_own_copy_of_the_chat_options()
    {
        var client = new FakeChatClient { MutateOptions = true };
        IBlindReader reader = client.AsBlindReader();

        await reader.ReadAsync(new BlindReaderQuery("q", "e"));
        ChatOptions first = client.LastOptions!;
        await reader.ReadAsync(new BlindReaderQuery("q", "e"));

        client.LastOptions.Should().NotBeSameAs(first);
        client.ReceivedTemperatures.Should().Equal([0f, 0f], "a mutation by the chat client in the first call must not leak into the second");
    }

    private sealed class FakeChatClient : IChatClient
    {
        public ChatOptions? LastOptions { get; private set; }

        public bool MutateOptions { get; init; }

        public List<float?> ReceivedTemperatures { get; } = [];

        public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
        {
            LastOptions = options;
            ReceivedTemperatures.Add(options?.Temperature);
            if (MutateOptions && options is not null)
            {
                options.Temperature = 0.7f;
            }

            return Task.FromResult(new ChatResponse(new ChatMessage(ChatRole.Assistant, "[[honest]] blue")));
        }

        public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
            => throw new NotSupportedException();

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }
}
