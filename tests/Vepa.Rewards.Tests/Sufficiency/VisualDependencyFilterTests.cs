using System.Collections.Concurrent;
using Vepa.Rewards;

namespace Vepa.Rewards.Tests.Sufficiency;

public sealed class VisualDependencyFilterTests
{
    private static readonly RewardRequest SkyItem = new("Is the sky in this photo blue?", "yes", "ignored evidence") { Id = "sky" };
    private static readonly RewardRequest CountItem = new("How many cubes are there?", "3", string.Empty) { Id = "count" };
    private static readonly RewardRequest ChoiceItem = new("Which animal barks?", "A", string.Empty, ["dog", "cat", "fish"]) { Id = "mc" };

    [Fact]
    public async Task Flags_items_answered_from_the_question_alone_and_keeps_the_rest()
    {
        var queries = new ConcurrentBag<BlindReaderQuery>();
        var reader = new DelegateBlindReader(query =>
        {
            queries.Add(query);
            return query.Question switch
            {
                "Is the sky in this photo blue?" => new BlindReaderReply("Yes, skies are usually blue.", IsHonest: true),
                "Which animal barks?" => new BlindReaderReply("(A)", IsHonest: true),
                _ => new BlindReaderReply("I cannot tell without a description.", IsHonest: true),
            };
        });
        var filter = new VisualDependencyFilter(reader);

        IReadOnlyList<VisualDependencyResult> results = await filter.EvaluateAsync([SkyItem, CountItem, ChoiceItem]);

        results.Select(r => r.Item.Id).Should().Equal("sky", "count", "mc");
        results.Select(r => r.IsAnsweredWithoutEvidence).Should().Equal(true, false, true);
        results.Select(r => r.IsVisuallyDependent).Should().Equal(false, true, false);
        results.Should().OnlyContain(r => r.IsEvaluated && r.Failure == null && r.ReaderAnswers.Count == 1);
        results[1].ReaderAnswers.Should().Equal("I cannot tell without a description.");
        results[1].CorrectSamples.Should().Be(0);
        queries.Should().OnlyContain(q => q.Evidence.Length == 0, "the reader must see no evidence, not even the item's");
        queries.Single(q => q.Question == ChoiceItem.Question).Choices.Should().Equal("dog", "cat", "fish");
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_reader_failure_fails_the_item_and_never_counts_it_as_dependent(bool transient)
    {
        var reader = new DelegateBlindReader(query => query.Question == CountItem.Question
            ? throw new BlindReaderException("endpoint unavailable", transient)
            : new BlindReaderReply("no idea", true));
        var filter = new VisualDependencyFilter(reader);

        IReadOnlyList<VisualDependencyResult> results = await filter.EvaluateAsync([SkyItem, CountItem]);

        results[0].IsVisuallyDependent.Should().BeTrue();
        VisualDependencyResult failed = results[1];
        failed.IsEvaluated.Should().BeFalse();
        failed.IsVisuallyDependent.Should().BeFalse();
        failed.IsAnsweredWithoutEvidence.Should().BeFalse();
        failed.Failure!.Reason.Should().Be("The blind reader failed: endpoint unavailable");
        failed.Failure.IsTransient.Should().Be(transient);
    }

    [Theory]
    [InlineData("3,no,no,no", 4, 1, true, 1)] // one correct suffices: stop after the first call
    [InlineData("no,3,no,3", 4, 2, true, 4)] // the second correct answer comes last
    [InlineData("3,3,no,no", 4, 2, true, 2)] // two correct: stop early
    [InlineData("no,no,no,3", 4, 2, false, 3)] // after three misses two correct are out of reach: stop
    [InlineData("no,three,no,no", 4, 2, false, 4)]
    public async Task Repeated_sampling_counts_correct_answers(string script, int samples, int minCorrect, bool answered, int expectedCalls)
    {
        string[] answers = script.Split(',');
        int calls = 0;
        var reader = new DelegateBlindReader(_ => new BlindReaderReply(answers[calls++], IsHonest: true));
        var filter = new VisualDependencyFilter(reader, new VisualDependencyOptions { Samples = samples, MinCorrectSamples = minCorrect });

        VisualDependencyResult result = (await filter.EvaluateAsync([CountItem]))[0];

        calls.Should().Be(expectedCalls);
        result.IsAnsweredWithoutEvidence.Should().Be(answered);
        result.ReaderAnswers.Should().Equal(answers.Take(expectedCalls));
        result.CorrectSamples.Should().Be(answers.Take(expectedCalls).Count(a => a is "3" or "three"));
    }

    [Fact]
    public async Task Items_run_concurrently_up_to_the_limit_and_keep_their_order()
    {
        int inFlight = 0;
        int maxInFlight = 0;
        var reader = new DelegateBlindReader(async (query, token) =>
        {
            int now = Interlocked.Increment(ref inFlight);
            int seen;
            while ((seen = Volatile.Read(ref maxInFlight)) < now && Interlocked.CompareExchange(ref maxInFlight, now, seen) != seen)
            {
            }

            await Task.Delay(20, token);
            Interlocked.Decrement(ref inFlight);
            return new BlindReaderReply(query.Question, true);
        });
        var filter = new VisualDependencyFilter(reader, new VisualDependencyOptions { MaxConcurrency = 3 });
        RewardRequest[] items = Enumerable.Range(0, 9).Select(i => new RewardRequest($"q{i}", i % 2 == 0 ? $"q{i}" : "other", string.Empty)).ToArray();

        IReadOnlyList<VisualDependencyResult> results = await filter.EvaluateAsync(items);

        results.Select(r => r.Item).Should().Equal(items);
        results.Select(r => r.IsAnsweredWithoutEvidence).Should().Equal(Enumerable.Range(0, 9).Select(i => i % 2 == 0));
        maxInFlight.Should().BeInRange(2, 3);
    }

    [Fact]
    public async Task Cancellation_propagates()
    {
        using var cts = new CancellationTokenSource();
        var reader = new DelegateBlindReader(async (_, token) =>
        {
            await cts.CancelAsync();
            await Task.Delay(Timeout.Infinite, token);
            return new BlindReaderReply("x", true);
        });
        var filter = new VisualDependencyFilter(reader);

        Func<Task> act = () => filter.EvaluateAsync([SkyItem, CountItem], cts.Token);

        await act.Should().ThrowAsync<OperationCanceledException>();
    }

    [Fact]
    public async Task An_empty_list_gives_no_results()
    {
        var filter = new VisualDependencyFilter(new DelegateBlindReader(_ => new BlindReaderReply("x", true)));

        (await filter.EvaluateAsync([])).Should().BeEmpty();
    }

    [Fact]
    public async Task Null_items_throw()
    {
        var filter = new VisualDependencyFilter(new DelegateBlindReader(_ => new BlindReaderReply("x", true)));

        Func<Task> nullList = () => filter.EvaluateAsync(null!);
        Func<Task> nullItem = () => filter.EvaluateAsync([SkyItem, null!]);

        (await nullList.Should().ThrowAsync<ArgumentNullException>()).Which.ParamName.Should().Be("items");
        (await nullItem.Should().ThrowAsync<ArgumentException>().WithMessage("items[1] is null; every item must be set.*"))
            .Which.ParamName.Should().Be("items");
    }

    [Fact]
    public void Invalid_options_list_every_problem()
    {
        var options = new VisualDependencyOptions { Samples = 2, MinCorrectSamples = 3, MaxConcurrency = 0 };

        Action act = () => _ = new VisualDependencyFilter(new DelegateBlindReader(_ => new BlindReaderReply("x", true)), options);

        act.Should().Throw<ArgumentException>()
            .WithMessage("The visual-dependency options are invalid: MinCorrectSamples must be in [1, Samples = 2]; got 3. MaxConcurrency must be in [1, 256]; got 0.*")
            .Which.ParamName.Should().Be("options");
    }

    [Fact]
    public void Samples_outside_range_are_rejected()
    {
        Action act = () => _ = new VisualDependencyFilter(new DelegateBlindReader(_ => new BlindReaderReply("x", true)), new VisualDependencyOptions { Samples = 65 });

        act.Should().Throw<ArgumentException>().WithMessage("*Samples must be in [1, 64]; got 65.*");
    }

    [Fact]
    public void Options_have_the_documented_defaults_and_a_null_reader_throws()
    {
        var options = new VisualDependencyOptions();
        Action act = () => _ = new VisualDependencyFilter(null!);

        options.Samples.Should().Be(1);
        options.MinCorrectSamples.Should().Be(1);
        options.MaxConcurrency.Should().Be(1);
        act.Should().Throw<ArgumentNullException>().Which.ParamName.Should().Be("reader");
    }
}
