namespace Vepa.Models;

/// <summary>One part of a chat message: text, or the place of an image or a video (the pixels travel separately, to the image processor).</summary>
/// <remarks>Immutable.</remarks>
public sealed class ChatContentPart
{
    private ChatContentPart(ChatContentKind kind, string text)
    {
        Kind = kind;
        Text = text;
    }

    /// <summary>Gets what the part holds.</summary>
    public ChatContentKind Kind { get; }

    /// <summary>Gets the text of a <see cref="ChatContentKind.Text"/> part; empty for images and videos.</summary>
    public string Text { get; }

    /// <summary>Creates a text part.</summary>
    /// <param name="text">The text.</param>
    /// <returns>The part.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="text"/> is <see langword="null"/>.</exception>
    public static ChatContentPart FromText(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return new ChatContentPart(ChatContentKind.Text, text);
    }

    /// <summary>Creates an image part.</summary>
    /// <returns>The part.</returns>
    public static ChatContentPart Image() => new(ChatContentKind.Image, string.Empty);

    /// <summary>Creates a video part.</summary>
    /// <returns>The part.</returns>
    public static ChatContentPart Video() => new(ChatContentKind.Video, string.Empty);

    /// <inheritdoc />
    public override string ToString() => Kind == ChatContentKind.Text ? Text : $"<{Kind.ToString().ToLowerInvariant()}>";
}
