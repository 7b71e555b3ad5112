namespace Vepa.Models;

/// <summary>One turn of a chat: a role (<c>system</c>, <c>user</c> or <c>assistant</c>) and its content parts.</summary>
/// <remarks>Immutable. A message made from a string has one text part; the ChatML templates render both forms the same way.</remarks>
public sealed class ChatMessage
{
    private static readonly string[] Roles = ["system", "user", "assistant"];

    /// <summary>Initializes a new instance of the <see cref="ChatMessage"/> class.</summary>
    /// <param name="role">The role: <c>system</c>, <c>user</c> or <c>assistant</c>.</param>
    /// <param name="content">The parts, in order.</param>
    /// <exception cref="ArgumentNullException"><paramref name="role"/> or <paramref name="content"/> (or one of its parts) is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="role"/> is not one of the three roles.</exception>
    public ChatMessage(string role, IEnumerable<ChatContentPart> content)
    {
        ArgumentNullException.ThrowIfNull(role);
        ArgumentNullException.ThrowIfNull(content);
        if (Array.IndexOf(Roles, role) < 0)
        {
            throw new ArgumentException($"The role must be one of {string.Join(", ", Roles)}; got \"{role}\" (tool messages are not supported).", nameof(role));
        }

        Role = role;
        Content = content.ToArray();
        for (int i = 0; i < Content.Count; i++)
        {
            if (Content[i] is null)
            {
                throw new ArgumentNullException(nameof(content), $"Content part {i} is null.");
            }
        }
    }

    /// <summary>Gets the role.</summary>
    public string Role { get; }

    /// <summary>Gets the content parts, in order.</summary>
    public IReadOnlyList<ChatContentPart> Content { get; }

    /// <summary>Gets the text of the message: its text parts joined (images and videos left out).</summary>
    public string Text => string.Concat(Content.Where(p => p.Kind == ChatContentKind.Text).Select(p => p.Text));

    /// <summary>Creates a system message.</summary>
    /// <param name="text">The text.</param>
    /// <returns>The message.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="text"/> is <see langword="null"/>.</exception>
    public static ChatMessage System(string text) => new("system", [ChatContentPart.FromText(text)]);

    /// <summary>Creates a user message of text.</summary>
    /// <param name="text">The text.</param>
    /// <returns>The message.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="text"/> is <see langword="null"/>.</exception>
    public static ChatMessage User(string text) => new("user", [ChatContentPart.FromText(text)]);

    /// <summary>Creates a user message of parts (text, images, videos).</summary>
    /// <param name="parts">The parts, in order.</param>
    /// <returns>The message.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="parts"/> is <see langword="null"/>.</exception>
    public static ChatMessage User(params ChatContentPart[] parts) => new("user", parts);

    /// <summary>Creates an assistant message.</summary>
    /// <param name="text">The text (for Qwen3, it may hold <c>&lt;think&gt;...&lt;/think&gt;</c>).</param>
    /// <returns>The message.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="text"/> is <see langword="null"/>.</exception>
    public static ChatMessage Assistant(string text) => new("assistant", [ChatContentPart.FromText(text)]);
}
