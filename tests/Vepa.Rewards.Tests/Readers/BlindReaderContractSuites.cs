using Vepa.Rewards.Tests.Http;

namespace Vepa.Rewards.Tests.Readers;

/// <summary>The delegate reader meets the shared <see cref="IBlindReader"/> contract from Vepa.Testing.</summary>
public sealed class DelegateBlindReaderContractTests : BlindReaderContractTests
{
    protected override IBlindReader CreateReader() => new DelegateBlindReader(static async (query, token) =>
    {
        await Task.Delay(1, token);
        string answer = query.Evidence.Length == 0 ? string.Empty : query.Choices?[1] ?? "red";
        return new BlindReaderReply(answer, IsHonest: true);
    });
}

/// <summary>
/// The chat-client reader, talking to a real loopback OpenAI-compatible server, meets the shared
/// <see cref="IBlindReader"/> contract from Vepa.Testing.
/// </summary>
public sealed class ChatClientBlindReaderReaderContractTests : BlindReaderContractTests, IAsyncLifetime
{
    private LoopbackChatServer? _server;

    public async Task InitializeAsync() => _server = await LoopbackChatServer.StartAsync(request =>
        request.UserText.Contains("cylinder is the largest", StringComparison.Ordinal)
            ? ScriptedReply.Answer("[[honest]] B", TimeSpan.FromMilliseconds(2))
            : ScriptedReply.Answer("[[honest]] red", TimeSpan.FromMilliseconds(2)));

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    protected override IBlindReader CreateReader() => _server!.CreateChatClient().AsBlindReader();
}
