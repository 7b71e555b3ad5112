namespace Vepa.Models;

/// <summary>The families of Qwen chat templates <see cref="QwenChatTemplate"/> renders.</summary>
public enum QwenChatTemplateKind
{
    /// <summary>ChatML with a default system prompt when the first message is not a system message: Qwen2-Instruct,
    /// Qwen2.5-Instruct and Qwen2-VL-Instruct (the latter with image and video placeholders).</summary>
    ChatMl,

    /// <summary>Qwen3's ChatML: no default system prompt; an assistant turn's <c>&lt;think&gt;</c> reasoning is kept only after the
    /// last user query; <c>enable_thinking = false</c> writes an empty think block after the generation prompt.</summary>
    Qwen3,
}
