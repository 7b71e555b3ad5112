namespace Vepa.Models;

/// <summary>What a part of a chat message holds.</summary>
public enum ChatContentKind
{
    /// <summary>Text.</summary>
    Text,

    /// <summary>An image: the template writes <c>&lt;|vision_start|&gt;&lt;|image_pad|&gt;&lt;|vision_end|&gt;</c>.</summary>
    Image,

    /// <summary>A video: the template writes <c>&lt;|vision_start|&gt;&lt;|video_pad|&gt;&lt;|vision_end|&gt;</c>.</summary>
    Video,
}
