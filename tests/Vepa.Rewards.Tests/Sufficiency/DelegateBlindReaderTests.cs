using Vepa.Rewards;

namespace Vepa.Rewards.Tests.Sufficiency;

public sealed class DelegateBlindReaderTests
{
    private static readonly BlindReaderQuery Query = new("What colour is the ball?", "A red ball.", ["red", "blue"]);

    [Fact]
    public async Task Passes_the_query_and_token_and_returns_the_reply()
    {
        using var cts = new CancellationTokenSource();
        BlindReaderQuery? seenQuery = null;
        CancellationToken seenToken = default;
        var reader = new DelegateBlindReader((query, token) =>
        {
            seenQuery = query;
            seenToken = token;
            return ValueTask.FromResult(new BlindReaderReply("red", IsHonest: true, "[[honest]] red"));
        });

        BlindReaderReply reply = await reader.ReadAsync(Query, cts.Token);

        reply.Should().Be(new BlindReaderReply("red", true, "[[honest]] red"));
        seenQuery.Should().BeSameAs(Query);
        seenToken.Should().Be(cts.Token);
    }

    [Fact]
    public async Task A_synchronous_delegate_works()
    {
        var reader = new DelegateBlindReader(query => new BlindReaderReply(query.Choices![1], IsHonest: false));

        BlindReaderReply reply = await reader.ReadAsync(Query);

        reply.Answer.Should().Be("blue");
        reply.IsHonest.Should().BeFalse();
    }

    [Fact]
    public void Null_delegates_throw()
    {
        Action async = () => _ = new DelegateBlindReader((Func<BlindReaderQuery, CancellationToken, ValueTask<BlindReaderReply>>)null!);
        Action sync = () => _ = new DelegateBlindReader((Func<BlindReaderQuery, BlindReaderReply>)null!);

        async.Should().Throw<ArgumentNullException>().Which.ParamName.Should().Be("read");
        sync.Should().Throw<ArgumentNullException>().Which.ParamName.Should().Be("read");
    }

    [Fact]
    public async Task Null_query_throws()
    {
        var reader = new DelegateBlindReader(_ => new BlindReaderReply("x", true));

        Func<Task> act = () => reader.ReadAsync(null!);

        (await act.Should().ThrowAsync<ArgumentNullException>()).Which.ParamName.Should().Be("query");
    }

    [Fact]
    public async Task A_null_reply_becomes_a_permanent_BlindReaderException()
    {
        var reader = new DelegateBlindReader(_ => null!);

        Func<Task> act = () => reader.ReadAsync(Query);

        BlindReaderException ex = (await act.Should().ThrowAsync<BlindReaderException>().WithMessage("The reader delegate returned null instead of a reply.")).Which;
        ex.IsTransient.Should().BeFalse();
    }

    [Fact]
    public async Task A_BlindReaderException_passes_through_unchanged()
    {
        var original = new BlindReaderException("rate limited", isTransient: true);
        var reader = new DelegateBlindReader(_ => throw original);

        Func<Task> act = () => reader.ReadAsync(Query);

        (await act.Should().ThrowAsync<BlindReaderException>()).Which.Should().BeSameAs(original);
    }

    [Theory]
    [InlineData(typeof(HttpRequestException), true)]
    [InlineData(typeof(TimeoutException), true)]
    [InlineData(typeof(IOException), true)]
    [InlineData(typeof(EndOfStreamException), true)]
    [InlineData(typeof(InvalidOperationException), false)]
    [InlineData(typeof(FormatException), false)]
    public async Task Other_exceptions_are_wrapped_with_their_type_and_transience(Type exceptionType, bool transient)
    {
        var inner = (Exception)Activator.CreateInstance(exceptionType, "boom")!;
        var reader = new DelegateBlindReader(_ => throw inner);

        Func<Task> act = () => reader.ReadAsync(Query);

        BlindReaderException ex = (await act.Should().ThrowAsync<BlindReaderException>()
            .WithMessage($"The reader delegate threw {exceptionType.Name}.")).Which;
        ex.IsTransient.Should().Be(transient);
        ex.InnerException.Should().BeSameAs(inner);
    }

    [Fact]
    public async Task A_cancelled_token_throws_without_calling_the_delegate()
    {
        int calls = 0;
        var reader = new DelegateBlindReader(_ =>
        {
            calls++;
            return new BlindReaderReply("x", true);
        });

        Func<Task> act = () => reader.ReadAsync(Query, new CancellationToken(canceled: true));

        await act.Should().ThrowAsync<OperationCanceledException>();
        calls.Should().Be(0);
    }

    [Fact]
    public async Task Cancellation_by_the_caller_during_the_call_propagates()
    {
        using var cts = new CancellationTokenSource();
        var reader = new DelegateBlindReader(async (_, token) =>
        {
            await cts.CancelAsync();
            await Task.Delay(Timeout.Infinite, token);
            return new BlindReaderReply("x", true);
        });

        Func<Task> act = () => reader.ReadAsync(Query, cts.Token);

        await act.Should().ThrowAsync<OperationCanceledException>();
    }

    [Fact]
    public async Task A_cancellation_the_caller_did_not_ask_for_is_a_transient_failure()
    {
        var reader = new DelegateBlindReader(_ => throw new TaskCanceledException("The request was canceled due to the configured HttpClient.Timeout"));

        Func<Task> act = () => reader.ReadAsync(Query);

        BlindReaderException ex = (await act.Should().ThrowAsync<BlindReaderException>()
            .WithMessage("The reader delegate was cancelled although the caller's token was not (a timeout?): TaskCanceledException")).Which;
        ex.IsTransient.Should().BeTrue();
    }
}
