namespace Vepa.Rewards.Tests.Sufficiency;

/// <summary>
/// The rule that charges repeated timeouts to the evidence asks whether the reader answered meanwhile (in any call of the model). A
/// malformed reply is the reader answering too: it counts as a scored reply does.
/// </summary>
public sealed class MalformedReplyTimeoutAttributionTests
{
    private const string Question = "What colour is the car?";

    [Fact]
    public async Task A_timeout_is_charged_to_the_evidence_when_another_call_got_a_malformed_reply_meanwhile()
    {
        var reader = new ScriptedReader();
        using var model = new SufficiencyRewardModel(reader, new SufficiencyRewardOptions { ReaderTimeoutAttempts = 1 });

        // Call 1 reads evidence the reader stalls on; while it waits, call 2 gets a reply that cannot be parsed.
        Task<IReadOnlyList<RewardResult>> stalled = model.ScoreAsync([new RewardRequest(Question, "blue", "A stall of words about a blue car.")]);
        await reader.StallStarted.Task.WaitAsync(TimeSpan.FromSeconds(30));
        IReadOnlyList<RewardResult> garbled = await model.ScoreAsync([new RewardRequest(Question, "blue", "A garbled blue car.")]);
        reader.ReleaseStall();
        RewardResult result = (await stalled.WaitAsync(TimeSpan.FromSeconds(30))).Single();

        garbled.Single().IsPenalized.Should().BeTrue("the malformed reply is the evidence's failure");
        garbled.Single().PenaltyCause!.Kind.Should().Be(RewardFailureKind.Evidence);
        result.IsScored.Should().BeTrue("the reader answered another call while this read timed out, so the timeout is the evidence's");
        result.IsPenalized.Should().BeTrue();
        result.PenaltyCause!.Kind.Should().Be(RewardFailureKind.Evidence);
        result.PenaltyCause.IsTransient.Should().BeFalse();
        result.PenaltyCause.Reason.Should().Match("The reader timed out on this evidence in each of 1 attempts while it answered other requests*");
        reader.Calls.Should().Be(2);
    }

    [Fact]
    public async Task Without_any_reply_meanwhile_the_timeout_stays_a_transient_infrastructure_failure()
    {
        var reader = new ScriptedReader();
        using var model = new SufficiencyRewardModel(reader, new SufficiencyRewardOptions { ReaderTimeoutAttempts = 1 });

        Task<IReadOnlyList<RewardResult>> stalled = model.ScoreAsync([new RewardRequest(Question, "blue", "A stall of words about a blue car.")]);
        await reader.StallStarted.Task.WaitAsync(TimeSpan.FromSeconds(30));
        reader.ReleaseStall();
        RewardResult result = (await stalled.WaitAsync(TimeSpan.FromSeconds(30))).Single();

        result.Status.Should().Be(RewardStatus.Failed);
        result.Failure!.Kind.Should().Be(RewardFailureKind.Infrastructure);
        result.Failure.IsTransient.Should().BeTrue();
    }

    [Fact]
    public async Task A_failed_call_meanwhile_is_no_reply_and_the_timeout_stays_a_transient_infrastructure_failure()
    {
        var reader = new ScriptedReader();
        using var model = new SufficiencyRewardModel(reader, new SufficiencyRewardOptions { ReaderTimeoutAttempts = 1 });

        Task<IReadOnlyList<RewardResult>> stalled = model.ScoreAsync([new RewardRequest(Question, "blue", "A stall of words about a blue car.")]);
        await reader.StallStarted.Task.WaitAsync(TimeSpan.FromSeconds(30));
        IReadOnlyList<RewardResult> outage = await model.ScoreAsync([new RewardRequest(Question, "blue", "An outage hides the blue car.")]);
        reader.ReleaseStall();
        RewardResult result = (await stalled.WaitAsync(TimeSpan.FromSeconds(30))).Single();

        outage.Single().Status.Should().Be(RewardStatus.Failed, "a 503 is the reader's failure, not the evidence's");
        result.Status.Should().Be(RewardStatus.Failed, "nothing answered meanwhile, so the timeout is not charged to the evidence");
        result.Failure!.Kind.Should().Be(RewardFailureKind.Infrastructure);
        result.Failure.IsTransient.Should().BeTrue();
    }

    /// <summary>Stalls on evidence with "stall" until released, then times out; answers "outage" with a failed call and anything else with a reply it cannot parse.</summary>
    private sealed class ScriptedReader : IBlindReader
    {
        private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _calls;

        public TaskCompletionSource StallStarted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public int Calls => Volatile.Read(ref _calls);

        public void ReleaseStall() => _release.TrySetResult();

        public async Task<BlindReaderReply> ReadAsync(BlindReaderQuery query, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _calls);
            if (query.Evidence.Contains("stall", StringComparison.Ordinal))
            {
                StallStarted.TrySetResult();
                await _release.Task.WaitAsync(cancellationToken);
                throw new TimeoutException("The reader did not answer in time.");
            }

            // A reply that came back but could not be parsed, as the chat readers report one: the evidence's failure, no inner exception.
            if (query.Evidence.Contains("outage", StringComparison.Ordinal))
            {
                // A failed call, not a reply, even though it carries no inner exception.
                throw new BlindReaderException("HTTP 503 from the reader's gateway.", isTransient: true);
            }

            throw new BlindReaderException("The reader's reply has no answer line.", RewardFailureKind.Evidence, isTransient: false) { IsReply = true };
        }
    }
}
