using Vepa.Core.Tests.Rewards;
using Vepa.Rewards.Tests.Http;

namespace Vepa.Rewards.Tests.Readers;

/// <summary>
/// The sufficiency reward over the chat-client reader, through the recommended resilience pipeline and a real loopback
/// OpenAI-compatible server, meets the shared <see cref="IRewardModel"/> contract.
/// </summary>
public sealed class ChatClientBlindReaderContractTests : RewardModelContractTests, IAsyncLifetime
{
    private static readonly (string EvidenceStart, string Reply)[] Script =
    [
        ("A small red ball", "[[honest]] red"),
        ("Two green cubes", "**[[honest]]** two"),
        ("The cylinder is the largest", "[[honest]] B"),
        ("A tall cylinder", "[[honest]] Answer: the cylinder"),
        ("The lamp on the desk", "[[ Honest ]] Yes. The lamp glows."),
    ];

    private LoopbackChatServer? _server;

    public async Task InitializeAsync() => _server = await LoopbackChatServer.StartAsync(request =>
    {
        foreach ((string evidenceStart, string reply) in Script)
        {
            if (request.UserText.Contains($"<description>\n{evidenceStart}", StringComparison.Ordinal))
            {
                return ScriptedReply.Answer(reply, TimeSpan.FromMilliseconds(2));
            }
        }

        return ScriptedReply.Answer("I cannot say.");
    });

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    [Fact]
    public async Task The_scripted_batch_scores_as_hand_derived()
    {
        using IRewardModel model = CreateModel();

        IReadOnlyList<RewardResult> results = await ScoreAsync(model, CreateRequests());

        // open-1 red ✓, open-2 "two" = 2 ✓, open-empty (no call) 0, mc-label B ✓, mc-text cylinder ✓, open-yes ✓,
        // unreadable: a malformed reply to well-formed evidence is the evidence's failure, scored as the formula's minimum (0), never NaN.
        results.Take(6).Select(r => r.Value).Should().Equal(1.0, 1.0, 0.0, 1.0, 1.0, 1.0);
        results[6].Status.Should().Be(RewardStatus.Scored);
        results[6].Value.Should().Be(0.0);
        results[6].PenaltyCause!.Kind.Should().Be(RewardFailureKind.Evidence);
        results[6].PenaltyCause!.Reason.Should().Be("The blind reader failed: The reader's reply is malformed: the reply has no [[CHEAT]] or [[honest]] tag.");
    }

    protected override IRewardModel CreateModel() => new SufficiencyRewardModel(_server!.CreateChatClient().AsBlindReader())
        .AsBuilder()
        .UseResilience(o =>
        {
            o.Retry.BaseDelay = TimeSpan.FromMilliseconds(5);
            o.ConcurrencyLimit.MaxConcurrency = 8;
        })
        .Build();

    protected override IReadOnlyList<RewardRequest> CreateRequests() =>
        [.. DefaultRequests(), new RewardRequest("Why?", "because", "Unscripted evidence.") { Id = "unreadable" }];
}
