using Vepa.Rewards.Tests.Http;

namespace Vepa.Rewards.Tests.Sufficiency;

/// <summary>
/// Issue 14, class 6 (timeouts) and class 2 (the cap after normalisation): a read that times out on every attempt while the reader answers the
/// rest of the batch is charged to the evidence; a slow or dead endpoint is not. Evidence that NFKC or decoding lengthens past the cap is
/// penalised without a call; honest evidence under the cap is read.
/// </summary>
public sealed class EvidenceTimeoutAndCapTests
{
    private const string Question = "What colour is the car?";

    [Fact]
    public async Task A_read_that_times_out_every_time_while_the_batch_is_answered_is_penalised()
    {
        await using var server = await LoopbackChatServer.StartAsync(request => request.UserText.Contains("stall", StringComparison.Ordinal)
            ? ScriptedReply.Answer("[[honest]] blue", TimeSpan.FromSeconds(20))
            : ScriptedReply.Answer("[[honest]] blue"));
        using var model = new SufficiencyRewardModel(
            server.CreateChatClient(networkTimeout: TimeSpan.FromSeconds(1)).AsBlindReader(),
            new SufficiencyRewardOptions { Formula = SufficiencyRewardFormula.Signed, ReaderTimeoutAttempts = 2 });

        IReadOnlyList<RewardResult> results = await model.ScoreAsync(
            [new RewardRequest(Question, "blue", "A blue car."), new RewardRequest(Question, "blue", "A stall of words about a blue car.")]);

        results[0].Value.Should().Be(1.0);
        results[1].IsScored.Should().BeTrue("a NaN would exclude the item and let evidence that stalls the reader escape its score");
        results[1].IsPenalized.Should().BeTrue();
        results[1].Value.Should().Be(-1.0);
        results[1].PenaltyCause!.Kind.Should().Be(RewardFailureKind.Evidence);
        results[1].PenaltyCause!.Reason.Should().StartWith("The reader timed out on this evidence in each of 2 attempts while it answered other requests");
        server.Requests.Count(r => r.UserText.Contains("stall", StringComparison.Ordinal)).Should().Be(2, "the read is tried ReaderTimeoutAttempts times");
    }

    [Fact]
    public async Task A_read_that_times_out_once_and_then_answers_is_scored()
    {
        int stalls = 0;
        await using var server = await LoopbackChatServer.StartAsync(request => request.UserText.Contains("stall", StringComparison.Ordinal) && Interlocked.Increment(ref stalls) == 1
            ? ScriptedReply.Answer("[[honest]] blue", TimeSpan.FromSeconds(20))
            : ScriptedReply.Answer("[[honest]] blue"));
        using var model = new SufficiencyRewardModel(server.CreateChatClient(networkTimeout: TimeSpan.FromSeconds(1)).AsBlindReader());

        IReadOnlyList<RewardResult> results = await model.ScoreAsync(
            [new RewardRequest(Question, "blue", "A blue car."), new RewardRequest(Question, "blue", "A stall of words about a blue car.")]);

        results.Select(r => r.Value).Should().Equal(1.0, 1.0);
    }

    [Fact]
    public async Task Timeouts_with_no_reply_in_the_batch_stay_transient_infrastructure_failures()
    {
        await using var server = await LoopbackChatServer.StartAsync(ScriptedReply.Answer("[[honest]] blue", TimeSpan.FromSeconds(20)));
        using var model = new SufficiencyRewardModel(server.CreateChatClient(networkTimeout: TimeSpan.FromSeconds(1)).AsBlindReader());

        IReadOnlyList<RewardResult> results = await model.ScoreAsync(
            [new RewardRequest(Question, "blue", "A blue car."), new RewardRequest(Question, "blue", "A blue car by a wall.")]);

        results.Should().OnlyContain(r => r.Status == RewardStatus.Failed && double.IsNaN(r.Value) && r.Failure!.IsTransient && r.Failure.Kind == RewardFailureKind.Infrastructure);
        server.RequestCount.Should().Be(4, "each read is tried ReaderTimeoutAttempts (2) times before the timeout is left to the retry stage");
    }

    [Fact]
    public async Task Through_the_pipeline_one_item_per_call_a_stalling_evidence_is_penalised_while_the_others_are_answered()
    {
        await using var server = await LoopbackChatServer.StartAsync(request => request.UserText.Contains("stall", StringComparison.Ordinal)
            ? ScriptedReply.Answer("[[honest]] blue", TimeSpan.FromSeconds(20))
            : ScriptedReply.Answer("[[honest]] blue", TimeSpan.FromMilliseconds(200)));
        using IRewardModel model = new SufficiencyRewardModel(server.CreateChatClient(networkTimeout: TimeSpan.FromSeconds(1)).AsBlindReader())
            .AsBuilder()
            .UseResilience(o =>
            {
                o.Retry.MaxRetries = 0;
                o.Timeout = TimeSpan.FromSeconds(30);
            })
            .Build();
        RewardRequest[] batch =
        [
            new(Question, "blue", "A stall of words about a blue car."),
            .. Enumerable.Range(0, 6).Select(i => new RewardRequest(Question, "blue", $"Car {i} is blue.")),
        ];

        IReadOnlyList<RewardResult> results = await model.ScoreAsync(batch);

        results.Skip(1).Should().OnlyContain(r => r.Value == 1.0);
        results[0].IsPenalized.Should().BeTrue("each item is its own call (MaxBatchSize 1), answered in parallel while the stalling one times out");
        results[0].PenaltyCause!.Kind.Should().Be(RewardFailureKind.Evidence);
    }

    [Fact]
    public void ReaderTimeoutAttempts_is_validated()
    {
        Action build = () => _ = new SufficiencyRewardModel(new DelegateBlindReader(_ => new BlindReaderReply("blue", true)), new SufficiencyRewardOptions { ReaderTimeoutAttempts = 0 });

        build.Should().Throw<ArgumentException>().WithMessage("*ReaderTimeoutAttempts must be in [1, 10]; got 0.*");
    }

    public static TheoryData<string, string> Lengthened => new()
    {
        // U+FDFA is one UTF-16 unit and 18 letters under NFKC; U+3300 (㌀) is 4 kana; U+FB03 (ﬃ) is 3 letters.
        { "ligature that NFKC expands 18-fold", string.Concat(Enumerable.Repeat("\uFDFA ", 500)) },
        { "squared kana", string.Concat(Enumerable.Repeat("\u3300", 2100)) },
        { "ffi ligatures", "A blue car. " + string.Concat(Enumerable.Repeat("\uFB03", 2700)) },
    };

    [Theory]
    [MemberData(nameof(Lengthened))]
    public async Task Evidence_that_normalisation_lengthens_past_the_cap_is_penalised_without_a_call(string family, string evidence)
    {
        int calls = 0;
        using var model = new SufficiencyRewardModel(new DelegateBlindReader(_ =>
        {
            Interlocked.Increment(ref calls);
            return new BlindReaderReply("blue", true);
        }));

        evidence.Length.Should().BeLessThan(8000, "{0} is under the cap as written", family);
        RewardResult result = (await model.ScoreAsync([new RewardRequest(Question, "blue", evidence)])).Single();

        result.IsPenalized.Should().BeTrue(family);
        result.Annotations[SufficiencyRewardKeys.ReaderSkipped].Should().Be("evidence over the cap");
        calls.Should().Be(0);
    }

    [Theory]
    [InlineData(7990)]
    [InlineData(8000)]
    public async Task Honest_evidence_at_the_cap_is_read(int length)
    {
        string sentence = "The car parked by the red brick wall is painted a deep blue. ";
        string evidence = string.Concat(Enumerable.Repeat(sentence, (length / sentence.Length) + 1))[..length];
        using var model = new SufficiencyRewardModel(new DelegateBlindReader(_ => new BlindReaderReply("blue", true)));

        RewardResult result = (await model.ScoreAsync([new RewardRequest(Question, "blue", evidence)])).Single();

        result.IsPenalized.Should().BeFalse();
        result.Annotations.Should().NotContainKey(SufficiencyRewardKeys.ReaderSkipped);
    }
}
