namespace Vepa.Rewards.Tests.Http;

/// <summary>One message of a chat-completions request, as the server received it.</summary>
/// <param name="Role">The role (<c>system</c>, <c>user</c>, …).</param>
/// <param name="Content">The text content (parts joined).</param>
internal sealed record ReceivedChatMessage(string Role, string Content);

/// <summary>A chat-completions request as <see cref="LoopbackChatServer"/> received it.</summary>
/// <param name="Index">The zero-based arrival order.</param>
/// <param name="Model">The <c>model</c> field.</param>
/// <param name="Temperature">The <c>temperature</c> field, if sent.</param>
/// <param name="MaxTokens">The <c>max_completion_tokens</c> (or <c>max_tokens</c>) field, if sent.</param>
/// <param name="Messages">The messages.</param>
/// <param name="Authorization">The <c>Authorization</c> header.</param>
/// <param name="ResponseFormat">The raw <c>response_format</c> field, if sent.</param>
internal sealed record ReceivedChatRequest(
    int Index,
    string? Model,
    double? Temperature,
    int? MaxTokens,
    IReadOnlyList<ReceivedChatMessage> Messages,
    string? Authorization,
    string? ResponseFormat = null)
{
    /// <summary>Gets the content of the last user message.</summary>
    public string UserText => Messages.LastOrDefault(m => m.Role == "user")?.Content ?? string.Empty;
}
