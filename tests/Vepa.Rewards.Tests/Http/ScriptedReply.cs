namespace Vepa.Rewards.Tests.Http;

/// <summary>How <see cref="LoopbackChatServer"/> answers one request: after a delay, an HTTP status with a chat completion or an error body, or a dropped connection.</summary>
internal sealed record ScriptedReply
{
    /// <summary>Gets the assistant message content of a 200 reply.</summary>
    public string Content { get; init; } = string.Empty;

    /// <summary>Gets the HTTP status; anything but 200 sends an OpenAI-style error body.</summary>
    public int StatusCode { get; init; } = 200;

    /// <summary>Gets how long the server waits before answering.</summary>
    public TimeSpan Delay { get; init; }

    /// <summary>Gets the <c>finish_reason</c> of a 200 reply.</summary>
    public string FinishReason { get; init; } = "stop";

    /// <summary>Gets the error message of a non-200 reply.</summary>
    public string ErrorMessage { get; init; } = "scripted failure";

    /// <summary>Gets the raw body of a non-200 reply, exactly as a given server sends it; <see langword="null"/> for an OpenAI-style body built from <see cref="ErrorMessage"/>.</summary>
    public string? ErrorBody { get; init; }

    /// <summary>Gets whether the server aborts the connection instead of answering.</summary>
    public bool DropConnection { get; init; }

    /// <summary>A 200 reply with <paramref name="content"/>.</summary>
    public static ScriptedReply Answer(string content, TimeSpan delay = default) => new() { Content = content, Delay = delay };

    /// <summary>An error reply with <paramref name="statusCode"/>.</summary>
    public static ScriptedReply Status(int statusCode, TimeSpan delay = default) => new() { StatusCode = statusCode, Delay = delay };

    /// <summary>An error reply with <paramref name="statusCode"/> and the raw <paramref name="body"/> of a real server.</summary>
    public static ScriptedReply Error(int statusCode, string body) => new() { StatusCode = statusCode, ErrorBody = body };

    /// <summary>A connection aborted without a response.</summary>
    public static ScriptedReply Drop(TimeSpan delay = default) => new() { DropConnection = true, Delay = delay };
}
