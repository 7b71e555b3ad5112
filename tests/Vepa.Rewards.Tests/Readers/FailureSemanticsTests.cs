using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Time.Testing;
using Vepa.Rewards.Tests.Http;
using Vepa.Rewards.Tests.Pipeline;

namespace Vepa.Rewards.Tests.Readers;

/// <summary>
/// Failure must never pay: evidence-caused failures get the formula's minimum, infrastructure failures stay NaN (excluded and counted),
/// configuration failures fail loudly. Each case goes through the real OpenAI client and a loopback server.
/// </summary>
public sealed class FailureSemanticsTests
{
    private const string Question = "What colour is the car?";

    private static readonly (ScriptedReply Reply, SufficiencyRewardFormula Formula, double Expected, string Cause)[] EvidenceFailureCases =
    [
        (new ScriptedReply { StatusCode = 400, ErrorMessage = "This model's maximum context length is 4096 tokens. However, you requested 9000 tokens." }, SufficiencyRewardFormula.Multiplicative, 0.0, "context length"),
        (new ScriptedReply { StatusCode = 400, ErrorMessage = "The input (9000 tokens) is longer than the model's context length (4096 tokens)." }, SufficiencyRewardFormula.Signed, -1.0, "context length"),
        (new ScriptedReply { StatusCode = 400, ErrorMessage = "context_length_exceeded" }, SufficiencyRewardFormula.Signed, -1.0, "context length"),
        (new ScriptedReply { StatusCode = 422, ErrorMessage = "Input validation error: `inputs` must have less than 4096 tokens. Given: 9000" }, SufficiencyRewardFormula.Signed, -1.0, "context length"),
        (new ScriptedReply { StatusCode = 413, ErrorMessage = "Payload too large" }, SufficiencyRewardFormula.Multiplicative, 0.0, "context length"),
        (new ScriptedReply { StatusCode = 400, ErrorMessage = "The response was filtered due to the prompt triggering Azure OpenAI's content management policy." }, SufficiencyRewardFormula.Signed, -1.0, "content filter"),
        (ScriptedReply.Answer("The car is nice."), SufficiencyRewardFormula.Signed, -1.0, "malformed"),
        (ScriptedReply.Answer(string.Empty), SufficiencyRewardFormula.Multiplicative, 0.0, "malformed"),
        (new ScriptedReply { Content = "[[honest]] blue", FinishReason = "length" }, SufficiencyRewardFormula.Signed, -1.0, "cut off"),
        (new ScriptedReply { Content = "[[honest]] blue", FinishReason = "content_filter" }, SufficiencyRewardFormula.Signed, -1.0, "content filter"),
    ];

    public static TheoryData<int, string> EvidenceFailures
    {
        get
        {
            var data = new TheoryData<int, string>();
            for (int i = 0; i < EvidenceFailureCases.Length; i++)
            {
                data.Add(i, EvidenceFailureCases[i].Cause);
            }

            return data;
        }
    }


    [Theory]
    [MemberData(nameof(EvidenceFailures))]
    public async Task Evidence_caused_failures_score_the_formulas_minimum_and_never_NaN(int index, string cause)
    {
        (ScriptedReply reply, SufficiencyRewardFormula formula, double expected, _) = EvidenceFailureCases[index];
        await using var server = await LoopbackChatServer.StartAsync(reply);
        using var model = new SufficiencyRewardModel(server.CreateChatClient().AsBlindReader(), new SufficiencyRewardOptions { Formula = formula });

        RewardResult result = (await model.ScoreAsync([new RewardRequest(Question, "blue", "A blue car by a wall.")])).Single();

        result.IsScored.Should().BeTrue("{0}: a NaN would give advantage 0 and let the evidence escape a low score", cause);
        result.Value.Should().Be(expected);
        result.IsPenalized.Should().BeTrue();
        result.PenaltyCause!.Kind.Should().Be(RewardFailureKind.Evidence);
        result.PenaltyCause.Reason.Should().ContainEquivalentOf(cause);
        result.Annotations[SufficiencyRewardKeys.Penalty].Should().Be(result.PenaltyCause.Reason);
    }

    [Fact]
    public async Task The_penalty_can_be_configured()
    {
        await using var server = await LoopbackChatServer.StartAsync(ScriptedReply.Answer("garbled"));
        using var model = new SufficiencyRewardModel(server.CreateChatClient().AsBlindReader(), new SufficiencyRewardOptions { EvidenceFailureReward = -0.25 });

        RewardResult result = (await model.ScoreAsync([new RewardRequest(Question, "blue", "A blue car.")])).Single();

        result.Value.Should().Be(-0.25);
    }

    [Theory]
    [InlineData(429)]
    [InlineData(500)]
    [InlineData(503)]
    public async Task Infrastructure_failures_stay_NaN_and_are_counted_apart_from_penalties(int status)
    {
        await using var server = await LoopbackChatServer.StartAsync(request => request.UserText.Contains("garbled", StringComparison.Ordinal)
            ? ScriptedReply.Answer("no tag here")
            : ScriptedReply.Status(status));
        using ServiceProvider services = PipelineServices.Create(new FakeTimeProvider());
        var meters = services.GetRequiredService<IMeterFactory>();
        using var failures = new MetricCollector<long>(meters, RewardMetricNames.MeterName, RewardMetricNames.Failures);
        using var penalties = new MetricCollector<long>(meters, RewardMetricNames.MeterName, RewardMetricNames.Penalties);
        using IRewardModel model = new SufficiencyRewardModel(server.CreateChatClient().AsBlindReader()).AsBuilder().UseMetrics().Build(services);

        IReadOnlyList<RewardResult> results = await model.ScoreAsync(
            [new RewardRequest(Question, "blue", "A blue car."), new RewardRequest(Question, "blue", "A garbled blue car.")]);

        results[0].Status.Should().Be(RewardStatus.Failed);
        double.IsNaN(results[0].Value).Should().BeTrue();
        results[0].Failure!.Kind.Should().Be(RewardFailureKind.Infrastructure);
        results[0].Failure!.IsTransient.Should().BeTrue();
        results[1].IsPenalized.Should().BeTrue();
        failures.GetMeasurementSnapshot().Should().ContainSingle().Which.Tags[RewardMetricNames.FailureKindTag].Should().Be("infrastructure");
        penalties.GetMeasurementSnapshot().Should().ContainSingle().Which.Tags[RewardMetricNames.FailureKindTag].Should().Be("evidence");
    }

    [Theory]
    [InlineData(401, "HTTP 401 (Unauthorized). Check the API key")]
    [InlineData(403, "HTTP 403 (Forbidden)")]
    [InlineData(404, "HTTP 404 (NotFound). Check the endpoint address and the model id.")]
    [InlineData(400, "HTTP 400 (BadRequest). The server rejected the request itself (not its length)")]
    public async Task Configuration_failures_open_the_circuit_and_the_caller_gets_an_exception_naming_the_cause(int status, string cause)
    {
        await using var server = await LoopbackChatServer.StartAsync(new ScriptedReply { StatusCode = status, ErrorMessage = "The model `readr` does not exist." });
        var clock = new FakeTimeProvider();
        using ServiceProvider services = PipelineServices.Create(clock);
        using IRewardModel model = new SufficiencyRewardModel(server.CreateChatClient().AsBlindReader())
            .AsBuilder()
            .UseResilience(o => o.Retry.MaxRetries = 0)
            .Build(services);
        RewardRequest[] batch = [.. Enumerable.Range(0, 4).Select(i => new RewardRequest(Question, "blue", $"Car number {i} is blue."))];

        Func<Task> first = () => model.ScoreAsync(batch);
        RewardConfigurationException error = (await first.Should().ThrowAsync<RewardConfigurationException>()).Which;

        error.Message.Should().StartWith("The reward pipeline is misconfigured: 4 of 4 items failed with a configuration failure").And.Contain(cause);
        error.Cause!.Kind.Should().Be(RewardFailureKind.Configuration);
        int calls = server.RequestCount;
        Func<Task> second = () => model.ScoreAsync(batch);
        (await second.Should().ThrowAsync<RewardConfigurationException>()).Which.Message.Should().StartWith("The reward circuit is open");
        server.RequestCount.Should().Be(calls, "an open circuit fails fast");
        clock.Advance(TimeSpan.FromSeconds(31));
        await FluentActions.Awaiting(() => model.ScoreAsync(batch)).Should().ThrowAsync<RewardConfigurationException>();
        server.RequestCount.Should().BeGreaterThan(calls, "after the break the circuit lets a batch through again");
    }

    [Fact]
    public async Task A_few_configuration_failures_below_the_share_stay_failed_results()
    {
        await using var server = await LoopbackChatServer.StartAsync(request => request.UserText.Contains("odd", StringComparison.Ordinal)
            ? ScriptedReply.Status(422)
            : ScriptedReply.Answer("[[honest]] blue"));
        using IRewardModel model = new SufficiencyRewardModel(server.CreateChatClient().AsBlindReader()).AsBuilder().UseConfigurationCircuitBreaker().Build();

        IReadOnlyList<RewardResult> results = await model.ScoreAsync(
            [new RewardRequest(Question, "blue", "An odd blue car."), .. Enumerable.Range(0, 3).Select(i => new RewardRequest(Question, "blue", $"Car {i} is blue."))]);

        results[0].Failure!.Kind.Should().Be(RewardFailureKind.Configuration);
        results.Skip(1).Should().OnlyContain(r => r.Value == 1.0);
    }

    [Fact]
    public async Task Over_long_evidence_is_penalised_without_calling_the_reader()
    {
        await using var server = await LoopbackChatServer.StartAsync(ScriptedReply.Answer("[[honest]] blue"));
        using var model = new SufficiencyRewardModel(
            server.CreateChatClient().AsBlindReader(),
            new SufficiencyRewardOptions { Formula = SufficiencyRewardFormula.Signed, MaxEvidenceTokens = 50, EvidenceTokenCounter = text => text.Split(' ').Length });
        string huge = "The car is blue. " + new string('x', 100_000);
        string wordy = string.Join(' ', Enumerable.Repeat("blue", 60));

        // 20 tokens as written; NFKC turns each U+FDFA into a four-word phrase, so the reader would get 80.
        string expanding = string.Join(' ', Enumerable.Repeat("\uFDFA", 20));

        IReadOnlyList<RewardResult> results = await model.ScoreAsync([new RewardRequest(Question, "blue", huge), new RewardRequest(Question, "blue", wordy), new RewardRequest(Question, "blue", expanding)]);

        server.RequestCount.Should().Be(0);
        results[2].PenaltyCause!.Reason.Should().Be("The evidence has 80 tokens (as written or once normalised), over the cap of 50; the reader was not called.");
        results[0].Value.Should().Be(-1.0);
        results[0].PenaltyCause!.Reason.Should().Be("The evidence has 100017 characters (as written or once normalised), over the cap of 8000; the reader was not called.");
        results[1].Value.Should().Be(-1.0);
        results[1].PenaltyCause!.Reason.Should().Be("The evidence has 60 tokens (as written or once normalised), over the cap of 50; the reader was not called.");
        results[0].Annotations[SufficiencyRewardKeys.ReaderSkipped].Should().Be("evidence over the cap");
    }

    [Theory]
    [InlineData("\u200B\u200B\u200B")]
    [InlineData("\u0000\u0000")]
    [InlineData("\u200C\u200D\u2060\uFEFF")]
    [InlineData(" \t\u00A0\u3000\n")]
    [InlineData("\u202E\u202D\u2066")]
    [InlineData("\u0301\u0308")]
    [InlineData("\u3164\u115F\uFFA0\u2800")]
    [InlineData("\uDB40\uDC20\uDB40\uDC41")]
    [InlineData("&nbsp;")]                       // encodings of nothing: the reader would read them as no description and guess
    [InlineData("&#8203;&#x200B;")]
    [InlineData("%E2%80%8B%20")]
    [InlineData("\\u200b \\x00")]
    [InlineData("&amp;nbsp;")]
    public async Task Invisible_or_control_only_evidence_counts_as_empty(string evidence)
    {
        await using var server = await LoopbackChatServer.StartAsync(ScriptedReply.Answer("[[honest]] blue"));
        using var model = new SufficiencyRewardModel(server.CreateChatClient().AsBlindReader());

        RewardResult result = (await model.ScoreAsync([new RewardRequest(Question, "blue", evidence)])).Single();

        server.RequestCount.Should().Be(0);
        result.Value.Should().Be(0.0);
        result.Annotations[SufficiencyRewardKeys.ReaderSkipped].Should().Be("empty evidence");
    }

    [Theory]
    [InlineData("the car is blue \uFFFE")]
    [InlineData("the car \uFFFF is \uFDD0 blue")]
    [InlineData("the car is \U0010FFFE blue")]
    public async Task Noncharacters_in_evidence_neither_crash_the_batch_nor_reach_the_reader(string evidence)
    {
        // string.Normalize throws on noncharacters: a policy that writes one must not fail the whole batch.
        await using var server = await LoopbackChatServer.StartAsync(ScriptedReply.Answer("[[honest]] blue"));
        using var model = new SufficiencyRewardModel(server.CreateChatClient().AsBlindReader());

        RewardResult result = (await model.ScoreAsync([new RewardRequest(Question, "blue", evidence)])).Single();

        result.IsScored.Should().BeTrue();
        result.Value.Should().Be(1.0);
        string sent = server.Requests.Single().UserText;
        sent.Should().Contain("blue");
        sent.Should().NotContain("\uFFFE", "noncharacters are removed before sending").And.NotContain("\uFFFF").And.NotContain("\uFDD0")
            .And.NotContain("\U0010FFFE");
    }

    [Fact]
    public void Invalid_evidence_options_list_every_problem()
    {
        var options = new SufficiencyRewardOptions { MaxEvidenceCharacters = 0, MaxEvidenceTokens = 0, EvidenceFailureReward = double.NaN, Repetition = new RepetitionPenaltyOptions { NearDuplicateSentenceOverlap = 0, LengthPenaltyWords = 0 } };

        Action act = () => _ = new SufficiencyRewardModel(new DelegateBlindReader(_ => new BlindReaderReply("x", true)), options);

        act.Should().Throw<ArgumentException>().WithMessage(
            "The sufficiency reward options are invalid: MaxEvidenceCharacters must be in [1, 10000000]; got 0. MaxEvidenceTokens must be positive when set; got 0. "
            + "MaxEvidenceTokens is set but EvidenceTokenCounter is null; set a token counter (for example the reader's tokenizer). EvidenceFailureReward must be finite when set; got NaN. "
            + "Repetition.NearDuplicateSentenceOverlap must be in (0, 1]; got 0. Repetition.LengthPenaltyWords must be in [1, 100000] when set; got 0.*")
            .Which.ParamName.Should().Be("options");
    }
}
