using Vepa.Rewards;

namespace Vepa.Rewards.Tests.Sufficiency;

public sealed class SufficiencyRewardModelTests
{
    // 12 words, 10 trigrams, 3 distinct → ratio 0.7; γ = 1 − 0.5 · (0.7 − 0.2) / 0.8 = 0.6875 with the defaults.
    private const string RepetitiveEvidence = "the red ball the red ball the red ball the red ball";
    // Content units (function word "the" dropped): red ball ×4 → 6 trigrams, 2 distinct → ratio 2/3; γ = 1 − 0.9 · (2/3 − 0.3) / 0.7.
    private const double RepetitiveRatio = 2.0 / 3.0;
    private const double RepetitiveGamma = 1 - (0.9 * ((2.0 / 3.0) - 0.3) / 0.7);

    private const string PlainEvidence = "A small red ball lies on the grass next to a blue cube.";

    private static readonly string[] Colours = ["red", "blue", "green"];

    [Theory]
    [InlineData("red", true, PlainEvidence, 1.0, 1.0, 1.0, 1.0)] // sufficient, honest, no repetition
    [InlineData("blue", true, PlainEvidence, 0.0, 1.0, 1.0, 0.0)] // wrong answer
    [InlineData("red", false, PlainEvidence, 1.0, 0.0, 1.0, 0.0)] // cheating: h = 0 → R = 0 even when right
    [InlineData("red", true, RepetitiveEvidence, 1.0, 1.0, RepetitiveGamma, RepetitiveGamma)] // R = γ
    [InlineData("blue", true, RepetitiveEvidence, 0.0, 1.0, RepetitiveGamma, 0.0)]
    [InlineData("red", false, RepetitiveEvidence, 1.0, 0.0, RepetitiveGamma, 0.0)]
    public async Task Multiplicative_reward_is_s_times_h_times_gamma(string answer, bool honest, string evidence, double s, double h, double gamma, double reward)
    {
        using var model = new SufficiencyRewardModel(Reader(answer, honest));

        RewardResult result = await ScoreOne(model, new RewardRequest("What colour is the ball?", "red", evidence));

        result.IsScored.Should().BeTrue();
        result.Value.Should().BeApproximately(reward, 1e-12);
        result.Components[RewardComponentNames.Sufficiency].Should().Be(s);
        result.Components[RewardComponentNames.Honesty].Should().Be(h);
        result.Components[RewardComponentNames.Repetition].Should().BeApproximately(gamma, 1e-12);
        result.Components[SufficiencyRewardKeys.RepetitionRatio].Should().BeApproximately(evidence == RepetitiveEvidence ? RepetitiveRatio : 0.0, 1e-12);
        result.Annotations[SufficiencyRewardKeys.ReaderAnswer].Should().Be(answer);
    }

    // Signed: cheating → −1 regardless; else (s ? 1 : 0) − (repetitive ? 0.5 : 0).
    [Theory]
    [InlineData("red", true, PlainEvidence, 1.0)]
    [InlineData("blue", true, PlainEvidence, 0.0)]
    [InlineData("red", false, PlainEvidence, -1.0)]
    [InlineData("blue", false, PlainEvidence, -1.0)]
    [InlineData("red", true, RepetitiveEvidence, 0.5)]
    [InlineData("blue", true, RepetitiveEvidence, -0.5)]
    [InlineData("red", false, RepetitiveEvidence, -1.0)]
    public async Task Signed_reward_follows_the_appendix(string answer, bool honest, string evidence, double reward)
    {
        using var model = new SufficiencyRewardModel(Reader(answer, honest), new SufficiencyRewardOptions { Formula = SufficiencyRewardFormula.Signed });

        RewardResult result = await ScoreOne(model, new RewardRequest("What colour is the ball?", "red", evidence));

        result.Value.Should().Be(reward);
        result.Components[RewardComponentNames.Honesty].Should().Be(honest ? 1.0 : 0.0);
    }

    [Theory]
    [InlineData("red", true, PlainEvidence, 2.0)]
    [InlineData("red", true, RepetitiveEvidence, 1.75)]
    [InlineData("blue", true, RepetitiveEvidence, -0.25)]
    [InlineData("red", false, RepetitiveEvidence, -3.0)]
    public async Task Signed_reward_uses_the_configured_magnitudes(string answer, bool honest, string evidence, double reward)
    {
        var options = new SufficiencyRewardOptions
        {
            Formula = SufficiencyRewardFormula.Signed,
            SignedCorrectReward = 2.0,
            SignedCheatingReward = -3.0,
            SignedRepetitionPenalty = 0.25,
        };
        using var model = new SufficiencyRewardModel(Reader(answer, honest), options);

        RewardResult result = await ScoreOne(model, new RewardRequest("What colour is the ball?", "red", evidence));

        result.Value.Should().Be(reward);
    }

    [Fact]
    public async Task Repetition_settings_change_gamma()
    {
        // Content bigrams of the repetitive evidence (red ball ×4): 7 total, 2 distinct → ratio 5/7; γ = 1 − 0.9 · (5/7 − 0.5) / 0.5.
        var options = new SufficiencyRewardOptions { RepetitionNGramSize = 2, RepetitionThreshold = 0.5, RepetitionFloor = 0.1 };
        using var model = new SufficiencyRewardModel(Reader("red", honest: true), options);

        RewardResult result = await ScoreOne(model, new RewardRequest("What colour is the ball?", "red", RepetitiveEvidence));

        double ratio = 5.0 / 7.0;
        double gamma = 1 - (0.9 * (ratio - 0.5) / 0.5);
        result.Components[SufficiencyRewardKeys.RepetitionRatio].Should().BeApproximately(ratio, 1e-12);
        result.Value.Should().BeApproximately(gamma, 1e-12);
    }

    [Fact]
    public async Task The_reader_gets_question_evidence_and_choices()
    {
        BlindReaderQuery? seen = null;
        var reader = new DelegateBlindReader(query =>
        {
            seen = query;
            return new BlindReaderReply("(B)", true, "[[honest]] (B)");
        });
        using var model = new SufficiencyRewardModel(reader);
        var request = new RewardRequest("Which colour?", "blue", "The ball is blue.", Colours);

        RewardResult result = await ScoreOne(model, request);

        seen.Should().Be(new BlindReaderQuery("Which colour?", "The ball is blue.", Colours));
        result.Value.Should().Be(1.0);
        result.Annotations.Should().BeEquivalentTo(new Dictionary<string, string>
        {
            [SufficiencyRewardKeys.ReaderAnswer] = "(B)",
            [SufficiencyRewardKeys.MatchKind] = nameof(AnswerMatchKind.OptionLabel),
            [SufficiencyRewardKeys.ReaderRawText] = "[[honest]] (B)",
        });
    }

    [Fact]
    public async Task Multiple_choice_distractor_in_the_answer_is_not_sufficient()
    {
        using var model = new SufficiencyRewardModel(Reader("red and blue", honest: true));

        RewardResult result = await ScoreOne(model, new RewardRequest("Which colour?", "B", "A ball.", Colours));

        result.Value.Should().Be(0.0);
        result.Annotations[SufficiencyRewardKeys.MatchKind].Should().Be(nameof(AnswerMatchKind.DistractorPresent));
    }

    [Theory]
    [InlineData(SufficiencyRewardFormula.Multiplicative, "")]
    [InlineData(SufficiencyRewardFormula.Signed, "")]
    [InlineData(SufficiencyRewardFormula.Multiplicative, "  \n\t")]
    public async Task Empty_evidence_scores_zero_without_calling_the_reader(SufficiencyRewardFormula formula, string evidence)
    {
        int calls = 0;
        var reader = new DelegateBlindReader(_ =>
        {
            calls++;
            return new BlindReaderReply("red", true);
        });
        using var model = new SufficiencyRewardModel(reader, new SufficiencyRewardOptions { Formula = formula });

        RewardResult result = await ScoreOne(model, new RewardRequest("What colour is the ball?", "red", evidence));

        calls.Should().Be(0);
        result.IsScored.Should().BeTrue();
        result.Value.Should().Be(0.0);
        result.Components.Should().BeEquivalentTo(new Dictionary<string, double>
        {
            [RewardComponentNames.Sufficiency] = 0,
            [RewardComponentNames.Honesty] = 1,
            [RewardComponentNames.Repetition] = 1,
            [SufficiencyRewardKeys.RepetitionRatio] = 0,
        });
        result.Annotations.Should().ContainKey(SufficiencyRewardKeys.ReaderSkipped).And.NotContainKey(SufficiencyRewardKeys.ReaderAnswer);
    }

    [Fact]
    public async Task A_reader_that_declines_to_answer_scores_zero_not_a_failure()
    {
        using var model = new SufficiencyRewardModel(Reader(string.Empty, honest: true));

        RewardResult result = await ScoreOne(model, new RewardRequest("What colour is the ball?", "red", PlainEvidence));

        result.IsScored.Should().BeTrue();
        result.Value.Should().Be(0.0);
        result.Annotations[SufficiencyRewardKeys.MatchKind].Should().Be(nameof(AnswerMatchKind.EmptyAnswer));
        result.Annotations.Should().NotContainKey(SufficiencyRewardKeys.ReaderRawText);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_BlindReaderException_becomes_a_failure_with_its_transient_flag(bool transient)
    {
        var error = new BlindReaderException("HTTP 503 from the reader endpoint", transient);
        using var model = new SufficiencyRewardModel(new DelegateBlindReader(_ => throw error));

        RewardResult result = await ScoreOne(model, new RewardRequest("Q?", "red", PlainEvidence));

        result.Status.Should().Be(RewardStatus.Failed);
        double.IsNaN(result.Value).Should().BeTrue("a failure is never scored 0");
        result.Components.Should().BeEmpty();
        result.Failure!.Reason.Should().Be("The blind reader failed: HTTP 503 from the reader endpoint");
        result.Failure.IsTransient.Should().Be(transient);
        result.Failure.Exception.Should().BeSameAs(error);
    }

    [Theory]
    [InlineData(typeof(HttpRequestException), true)]
    [InlineData(typeof(TimeoutException), true)]
    [InlineData(typeof(IOException), true)]
    [InlineData(typeof(InvalidOperationException), false)]
    [InlineData(typeof(NullReferenceException), false)]
    public async Task Other_reader_exceptions_become_failures_naming_the_type_only(Type exceptionType, bool transient)
    {
        var error = (Exception)Activator.CreateInstance(exceptionType, "boom")!;
        using var model = new SufficiencyRewardModel(new RawReader(_ => throw error));

        RewardResult result = await ScoreOne(model, new RewardRequest("Q?", "red", PlainEvidence));

        result.Status.Should().Be(RewardStatus.Failed);
        double.IsNaN(result.Value).Should().BeTrue();
        result.Failure!.Reason.Should().Be($"The blind reader threw {exceptionType.Name}.", "an exception message may quote a server's response");
        result.Failure.IsTransient.Should().Be(transient);
        result.Failure.Exception.Should().BeSameAs(error);
    }

    [Fact]
    public async Task A_reader_cancellation_the_caller_did_not_ask_for_is_a_transient_failure()
    {
        using var model = new SufficiencyRewardModel(new RawReader(_ => throw new TaskCanceledException("HttpClient.Timeout elapsed")));

        RewardResult result = await ScoreOne(model, new RewardRequest("Q?", "red", PlainEvidence));

        result.Status.Should().Be(RewardStatus.Failed);
        result.Failure!.IsTransient.Should().BeTrue();
        result.Failure.Reason.Should().StartWith("The blind reader call was cancelled although the caller's token was not");
    }

    [Fact]
    public async Task Null_replies_and_null_answers_are_permanent_failures()
    {
        using var nullReply = new SufficiencyRewardModel(new RawReader(_ => Task.FromResult<BlindReaderReply>(null!)));
        using var nullAnswer = new SufficiencyRewardModel(new RawReader(_ => Task.FromResult(new BlindReaderReply(null!, true))));
        var request = new RewardRequest("Q?", "red", PlainEvidence);

        RewardResult first = await ScoreOne(nullReply, request);
        RewardResult second = await ScoreOne(nullAnswer, request);

        first.Failure!.Reason.Should().Be("The blind reader returned no reply (null).");
        first.Failure.IsTransient.Should().BeFalse();
        second.Failure!.Reason.Should().Be("The blind reader returned a reply whose answer is null.");
        double.IsNaN(second.Value).Should().BeTrue();
    }

    [Fact]
    public async Task A_failing_item_does_not_disturb_the_others_and_order_is_kept()
    {
        var reader = new DelegateBlindReader(query => query.Question switch
        {
            "fail" => throw new BlindReaderException("unparseable", isTransient: false),
            _ => new BlindReaderReply(query.Question, IsHonest: true),
        });
        using var model = new SufficiencyRewardModel(reader);
        RewardRequest[] batch =
        [
            new("red", "red", PlainEvidence),
            new("fail", "red", PlainEvidence),
            new("blue", "red", PlainEvidence),
            new("red", "red", string.Empty),
        ];

        IReadOnlyList<RewardResult> results = await model.ScoreAsync(batch);

        results.Select(r => r.Status).Should().Equal(RewardStatus.Scored, RewardStatus.Failed, RewardStatus.Scored, RewardStatus.Scored);
        results[0].Value.Should().Be(1.0);
        double.IsNaN(results[1].Value).Should().BeTrue();
        results[2].Value.Should().Be(0.0);
        results[3].Value.Should().Be(0.0);
        results[3].Annotations.Should().ContainKey(SufficiencyRewardKeys.ReaderSkipped);
    }

    [Fact]
    public async Task Items_of_a_batch_are_read_one_after_another()
    {
        int inFlight = 0;
        int maxInFlight = 0;
        var reader = new DelegateBlindReader(async (_, token) =>
        {
            int now = Interlocked.Increment(ref inFlight);
            InterlockedMax(ref maxInFlight, now);
            await Task.Delay(5, token);
            Interlocked.Decrement(ref inFlight);
            return new BlindReaderReply("red", true);
        });
        using var model = new SufficiencyRewardModel(reader);
        RewardRequest[] batch = Enumerable.Range(0, 6).Select(_ => new RewardRequest("Q?", "red", PlainEvidence)).ToArray();

        IReadOnlyList<RewardResult> results = await model.ScoreAsync(batch);

        results.Should().HaveCount(6).And.OnlyContain(r => r.Value == 1.0);
        maxInFlight.Should().Be(1);
    }

    [Fact]
    public async Task A_cancelled_token_throws_before_any_read()
    {
        int calls = 0;
        using var model = new SufficiencyRewardModel(new DelegateBlindReader(_ =>
        {
            calls++;
            return new BlindReaderReply("red", true);
        }));

        Func<Task> act = () => model.ScoreAsync([new RewardRequest("Q?", "red", PlainEvidence)], new CancellationToken(canceled: true));

        await act.Should().ThrowAsync<OperationCanceledException>();
        calls.Should().Be(0);
    }

    [Fact]
    public async Task Cancelling_during_a_batch_propagates_instead_of_failing_items()
    {
        using var cts = new CancellationTokenSource();
        int calls = 0;
        var reader = new DelegateBlindReader(async (_, token) =>
        {
            if (++calls == 2)
            {
                await cts.CancelAsync();
                await Task.Delay(Timeout.Infinite, token);
            }

            return new BlindReaderReply("red", true);
        });
        using var model = new SufficiencyRewardModel(reader);
        RewardRequest[] batch = Enumerable.Range(0, 4).Select(_ => new RewardRequest("Q?", "red", PlainEvidence)).ToArray();

        Func<Task> act = () => model.ScoreAsync(batch, cts.Token);

        await act.Should().ThrowAsync<OperationCanceledException>();
        calls.Should().Be(2);
    }

    [Fact]
    public async Task A_null_request_in_the_batch_throws_naming_its_index()
    {
        using var model = new SufficiencyRewardModel(Reader("red", true));

        Func<Task> act = () => model.ScoreAsync([new RewardRequest("Q?", "red", PlainEvidence), null!]);

        (await act.Should().ThrowAsync<ArgumentException>().WithMessage("requests[1] is null; every request must be set.*"))
            .Which.ParamName.Should().Be("requests");
    }

    [Fact]
    public async Task A_disposed_model_throws_ObjectDisposedException()
    {
        var model = new SufficiencyRewardModel(Reader("red", true));
        model.Dispose();

        Func<Task> act = () => model.ScoreAsync([new RewardRequest("Q?", "red", PlainEvidence)]);

        await act.Should().ThrowAsync<ObjectDisposedException>();
    }

    [Fact]
    public void GetService_returns_the_model_the_reader_the_options_and_the_matcher()
    {
        DelegateBlindReader reader = Reader("red", true);
        var options = new SufficiencyRewardOptions { Formula = SufficiencyRewardFormula.Signed, RepetitionNGramSize = 4 };
        using var model = new SufficiencyRewardModel(reader, options);

        model.GetService(typeof(SufficiencyRewardModel)).Should().BeSameAs(model);
        model.GetService(typeof(IRewardModel)).Should().BeSameAs(model);
        model.GetService<IBlindReader>().Should().BeSameAs(reader);
        model.GetService<DelegateBlindReader>().Should().BeSameAs(reader);
        model.GetService<AnswerMatcher>().Should().NotBeNull();
        SufficiencyRewardOptions copy = model.GetService<SufficiencyRewardOptions>()!;
        copy.Should().NotBeSameAs(options);
        copy.Formula.Should().Be(SufficiencyRewardFormula.Signed);
        copy.RepetitionNGramSize.Should().Be(4);
        model.GetService(typeof(IBlindReader), serviceKey: "other").Should().BeNull();
        model.GetService(typeof(string)).Should().BeNull();
    }

    [Fact]
    public async Task The_model_copies_its_options()
    {
        var options = new SufficiencyRewardOptions();
        using var model = new SufficiencyRewardModel(Reader("blue", honest: false), options);

        options.Formula = SufficiencyRewardFormula.Signed;
        RewardResult result = await ScoreOne(model, new RewardRequest("Q?", "red", PlainEvidence));

        result.Value.Should().Be(0.0, "the multiplicative formula was copied at construction; the signed one would give -1");
    }

    [Fact]
    public void Options_have_the_documented_defaults()
    {
        var options = new SufficiencyRewardOptions();

        options.Formula.Should().Be(SufficiencyRewardFormula.Multiplicative);
        options.RepetitionNGramSize.Should().Be(3);
        options.RepetitionThreshold.Should().Be(0.3);
        options.RepetitionFloor.Should().Be(0.1);
        options.SignedCorrectReward.Should().Be(1.0);
        options.SignedCheatingReward.Should().Be(-1.0);
        options.SignedRepetitionPenalty.Should().Be(0.5);
    }

    [Fact]
    public void A_null_reader_throws()
    {
        Action act = () => _ = new SufficiencyRewardModel(null!);

        act.Should().Throw<ArgumentNullException>().Which.ParamName.Should().Be("reader");
    }

    [Fact]
    public void Invalid_options_list_every_problem()
    {
        var options = new SufficiencyRewardOptions
        {
            Formula = (SufficiencyRewardFormula)7,
            RepetitionNGramSize = 0,
            RepetitionThreshold = 1.0,
            RepetitionFloor = 0.0,
            SignedCorrectReward = double.NaN,
            SignedCheatingReward = 0.5,
            SignedRepetitionPenalty = -0.5,
        };

        Action act = () => _ = new SufficiencyRewardModel(Reader("red", true), options);

        act.Should().Throw<ArgumentException>()
            .WithMessage(
                "The sufficiency reward options are invalid: Formula must be Multiplicative or Signed; got 7. "
                + "RepetitionNGramSize must be in [1, 16]; got 0. RepetitionThreshold must be in [0, 1); got 1. "
                + "RepetitionFloor must be in (0, 1]; got 0. SignedCorrectReward must be finite and > 0; got NaN. "
                + "SignedCheatingReward must be finite and <= 0; got 0.5. SignedRepetitionPenalty must be finite and >= 0; got -0.5.*")
            .Which.ParamName.Should().Be("options");
    }

    [Theory]
    [InlineData(17, 0.2, 0.5, "RepetitionNGramSize must be in [1, 16]; got 17.")]
    [InlineData(3, -0.1, 0.5, "RepetitionThreshold must be in [0, 1); got -0.1.")]
    [InlineData(3, double.NaN, 0.5, "RepetitionThreshold must be in [0, 1); got NaN.")]
    [InlineData(3, 0.2, 1.5, "RepetitionFloor must be in (0, 1]; got 1.5.")]
    public void Each_repetition_setting_is_checked(int n, double threshold, double floor, string problem)
    {
        var options = new SufficiencyRewardOptions { RepetitionNGramSize = n, RepetitionThreshold = threshold, RepetitionFloor = floor };

        Action act = () => _ = new SufficiencyRewardModel(Reader("red", true), options);

        act.Should().Throw<ArgumentException>().WithMessage($"The sufficiency reward options are invalid: {problem}*");
    }

    [Fact]
    public void Invalid_match_options_name_the_matchOptions_parameter()
    {
        Action act = () => _ = new SufficiencyRewardModel(Reader("red", true), matchOptions: new AnswerMatchOptions { RelativeTolerance = -1 });

        act.Should().Throw<ArgumentException>()
            .WithMessage("The answer-matching options are invalid: RelativeTolerance must be in [0, 1); got -1.*")
            .Which.ParamName.Should().Be("matchOptions");
    }

    [Fact]
    public async Task Match_options_reach_the_matcher()
    {
        using var strict = new SufficiencyRewardModel(Reader("1.04", true));
        using var relaxed = new SufficiencyRewardModel(Reader("1.04", true), matchOptions: new AnswerMatchOptions { RelativeTolerance = 0.05 });
        var request = new RewardRequest("What is the value?", "1", "The bar reaches 1.04.");

        (await ScoreOne(strict, request)).Value.Should().Be(0.0);
        (await ScoreOne(relaxed, request)).Value.Should().Be(1.0);
    }

    private static DelegateBlindReader Reader(string answer, bool honest) => new(_ => new BlindReaderReply(answer, honest));

    private static async Task<RewardResult> ScoreOne(IRewardModel model, RewardRequest request)
    {
        IReadOnlyList<RewardResult> results = await model.ScoreAsync([request]);
        results.Should().HaveCount(1);
        return results[0];
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int current;
        while ((current = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, current) != current)
        {
        }
    }

    /// <summary>A reader whose exceptions reach the model unwrapped (unlike <see cref="DelegateBlindReader"/>).</summary>
    private sealed class RawReader(Func<BlindReaderQuery, Task<BlindReaderReply>> read) : IBlindReader
    {
        public Task<BlindReaderReply> ReadAsync(BlindReaderQuery query, CancellationToken cancellationToken = default) => read(query);
    }
}
