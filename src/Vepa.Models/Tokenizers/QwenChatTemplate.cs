using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Vepa.Models;

/// <summary>
/// Renders a conversation the way the Qwen chat templates (Jinja, in a snapshot's <c>tokenizer_config.json</c> or
/// <c>chat_template.json</c>) render it for system, user and assistant turns, with Qwen2-VL's image and video placeholders; and
/// builds prompt token ids, expanding each <c>&lt;|image_pad|&gt;</c> to the number of tokens its image takes.
/// </summary>
/// <remarks>
/// <para>This is not a Jinja engine: <see cref="FromPretrained"/> recognises which Qwen template family a snapshot carries
/// (<see cref="QwenChatTemplateKind"/>), reads its default system prompt out of the template, and renders that family's output.
/// It covers the published Qwen2 / Qwen2.5 / Qwen2-VL / Qwen3 instruct templates for system, user and assistant messages (tested
/// against the real templates rendered by a Jinja engine); tool calls and tool messages are not supported. A template that is not
/// ChatML is rejected with the file and the field.</para>
/// <para>Immutable and thread-safe.</para>
/// </remarks>
public sealed partial class QwenChatTemplate
{
    private const string ImagePlaceholder = "<|vision_start|><|image_pad|><|vision_end|>";
    private const string VideoPlaceholder = "<|vision_start|><|video_pad|><|vision_end|>";

    /// <summary>Initializes a new instance of the <see cref="QwenChatTemplate"/> class.</summary>
    /// <param name="kind">The template family.</param>
    /// <param name="defaultSystemPrompt">The system prompt written when the first message is not a system message (<see cref="QwenChatTemplateKind.ChatMl"/> only), or <see langword="null"/> for none.</param>
    /// <param name="supportsVision">Whether image and video parts are allowed (Qwen2-VL).</param>
    /// <exception cref="ArgumentException"><paramref name="defaultSystemPrompt"/> is given for <see cref="QwenChatTemplateKind.Qwen3"/>, or <paramref name="kind"/> is not defined.</exception>
    public QwenChatTemplate(QwenChatTemplateKind kind, string? defaultSystemPrompt, bool supportsVision)
    {
        if (!Enum.IsDefined(kind))
        {
            throw new ArgumentException($"Unknown template kind {kind}.", nameof(kind));
        }

        if (kind == QwenChatTemplateKind.Qwen3 && defaultSystemPrompt is not null)
        {
            throw new ArgumentException("Qwen3's template has no default system prompt.", nameof(defaultSystemPrompt));
        }

        Kind = kind;
        DefaultSystemPrompt = defaultSystemPrompt;
        SupportsVision = supportsVision;
    }

    /// <summary>Gets Qwen2-VL-Instruct's template: default system prompt "You are a helpful assistant.", image and video placeholders.</summary>
    public static QwenChatTemplate Qwen2VL { get; } = new(QwenChatTemplateKind.ChatMl, "You are a helpful assistant.", supportsVision: true);

    /// <summary>Gets Qwen2-Instruct's template: default system prompt "You are a helpful assistant.", text only.</summary>
    public static QwenChatTemplate Qwen2 { get; } = new(QwenChatTemplateKind.ChatMl, "You are a helpful assistant.", supportsVision: false);

    /// <summary>Gets Qwen2.5-Instruct's template: default system prompt "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.", text only.</summary>
    public static QwenChatTemplate Qwen25 { get; } = new(QwenChatTemplateKind.ChatMl, "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.", supportsVision: false);

    /// <summary>Gets Qwen3's template: no default system prompt, thinking blocks.</summary>
    public static QwenChatTemplate Qwen3 { get; } = new(QwenChatTemplateKind.Qwen3, null, supportsVision: false);

    /// <summary>Gets the template family.</summary>
    public QwenChatTemplateKind Kind { get; }

    /// <summary>Gets the system prompt written when the conversation does not start with a system message, or <see langword="null"/>.</summary>
    public string? DefaultSystemPrompt { get; }

    /// <summary>Gets whether image and video parts are allowed.</summary>
    public bool SupportsVision { get; }

    /// <summary>Reads the chat template of a snapshot folder: <c>chat_template.jinja</c>, else <c>chat_template.json</c>, else the <c>chat_template</c> field of <c>tokenizer_config.json</c>.</summary>
    /// <param name="folder">The snapshot folder.</param>
    /// <returns>The template.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="folder"/> is <see langword="null"/>.</exception>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="FileNotFoundException">None of the three files exists.</exception>
    /// <exception cref="InvalidDataException">The file is malformed, holds no chat template, or a template that is not a Qwen ChatML template; the message names the file and the field.</exception>
    public static QwenChatTemplate FromPretrained(string folder)
    {
        ArgumentNullException.ThrowIfNull(folder);
        if (!Directory.Exists(folder))
        {
            throw new DirectoryNotFoundException($"The snapshot folder '{folder}' does not exist.");
        }

        string jinja = Path.Combine(folder, "chat_template.jinja");
        if (File.Exists(jinja))
        {
            return Parse(File.ReadAllText(jinja), jinja, "(the whole file)");
        }

        foreach (string file in (string[])["chat_template.json", "tokenizer_config.json"])
        {
            string path = Path.Combine(folder, file);
            if (!File.Exists(path))
            {
                continue;
            }

            using var document = SnapshotJson.Load(path);
            var value = SnapshotJson.Get(document.RootElement, "chat_template");
            if (value is null)
            {
                if (file == "chat_template.json")
                {
                    throw new InvalidDataException($"'{path}': the field 'chat_template' is missing.");
                }

                throw new InvalidDataException($"'{path}': the field 'chat_template' is missing, and the folder has no chat_template.jinja or chat_template.json; this snapshot has no chat template (a base model?).");
            }

            return Parse(ReadTemplateText(value.Value, path), path, "chat_template");
        }

        throw new FileNotFoundException($"The snapshot folder '{folder}' has no chat_template.jinja, chat_template.json or tokenizer_config.json.", Path.Combine(folder, "tokenizer_config.json"));
    }

    /// <summary>Recognises a Qwen chat template from its Jinja text.</summary>
    /// <param name="template">The Jinja template text.</param>
    /// <returns>The template.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="template"/> is <see langword="null"/>.</exception>
    /// <exception cref="InvalidDataException">The text is not a Qwen ChatML template.</exception>
    public static QwenChatTemplate Parse(string template)
    {
        ArgumentNullException.ThrowIfNull(template);
        return Parse(template, "(template text)", "chat_template");
    }

    /// <summary>Renders a conversation to the prompt text.</summary>
    /// <param name="messages">The messages, in order; at least one.</param>
    /// <param name="addGenerationPrompt">Whether to end with the opening of an assistant turn (<c>&lt;|im_start|&gt;assistant\n</c>), for sampling.</param>
    /// <param name="addVisionId">Whether to label images and videos "Picture n: " / "Video n: " (Qwen2-VL's <c>add_vision_id</c>).</param>
    /// <param name="enableThinking">Qwen3's <c>enable_thinking</c>: <see langword="false"/> writes an empty think block after the generation prompt; <see langword="null"/> or <see langword="true"/> write none.</param>
    /// <returns>The text.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="messages"/> or one of its messages is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">There are no messages, or a message holds an image or video and the template has no vision placeholders.</exception>
    public string Render(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt = true, bool addVisionId = false, bool? enableThinking = null) =>
        string.Concat(RenderSegments(messages, addGenerationPrompt, addVisionId, enableThinking).Select(s => s.Text));

    /// <summary>Renders a conversation and encodes it to prompt token ids (each image or video still one pad token; see <see cref="ExpandPads"/>).</summary>
    /// <param name="tokenizer">The tokenizer.</param>
    /// <param name="messages">The messages, in order; at least one.</param>
    /// <param name="addGenerationPrompt">Whether to end with the opening of an assistant turn.</param>
    /// <param name="addVisionId">Whether to label images and videos (Qwen2-VL's <c>add_vision_id</c>).</param>
    /// <param name="enableThinking">Qwen3's <c>enable_thinking</c>.</param>
    /// <param name="escapeSpecialTokensInContent">Whether special tokens written inside message text (for example a literal <c>&lt;|im_end|&gt;</c> in a document) are encoded as plain text, so content cannot end a turn or fake an image. <see langword="false"/> encodes the rendered text as a whole, exactly as Hugging Face's <c>apply_chat_template(tokenize=True)</c>; the two agree whenever the content holds no special token.</param>
    /// <returns>The ids.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="tokenizer"/> or <paramref name="messages"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">As for <see cref="Render"/>, or the text holds an unpaired surrogate.</exception>
    public IReadOnlyList<long> EncodePrompt(QwenTokenizer tokenizer, IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt = true, bool addVisionId = false, bool? enableThinking = null, bool escapeSpecialTokensInContent = false)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        var segments = RenderSegments(messages, addGenerationPrompt, addVisionId, enableThinking);
        return escapeSpecialTokensInContent
            ? tokenizer.EncodeSegments(segments)
            : tokenizer.Encode(string.Concat(segments.Select(s => s.Text)), splitSpecialTokens: false);
    }

    /// <summary>Replaces the n-th occurrence of a pad token (<c>&lt;|image_pad|&gt;</c> or <c>&lt;|video_pad|&gt;</c>) with <c>counts[n]</c> copies, as Qwen2-VL's processor does before the model sees the prompt.</summary>
    /// <param name="ids">The prompt ids, one pad per image.</param>
    /// <param name="padTokenId">The pad token's id (<see cref="QwenTokenizer.GetTokenId"/> of <c>&lt;|image_pad|&gt;</c>).</param>
    /// <param name="counts">The number of tokens of each image, in order of appearance (see <see cref="VisionTokenCount"/>).</param>
    /// <returns>The expanded ids.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="ids"/> or <paramref name="counts"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">The number of pads differs from the number of counts, or a count is less than 1.</exception>
    public static long[] ExpandPads(IReadOnlyList<long> ids, long padTokenId, IReadOnlyList<int> counts)
    {
        ArgumentNullException.ThrowIfNull(ids);
        ArgumentNullException.ThrowIfNull(counts);
        int pads = ids.Count(id => id == padTokenId);
        if (pads != counts.Count)
        {
            throw new ArgumentException($"The prompt holds {pads} pad tokens (id {padTokenId}) but {counts.Count} token counts were given; each image (or video) needs exactly one count.", nameof(counts));
        }

        for (int i = 0; i < counts.Count; i++)
        {
            if (counts[i] < 1)
            {
                throw new ArgumentException($"counts[{i}] must be >= 1; got {counts[i]}.", nameof(counts));
            }
        }

        var result = new List<long>(ids.Count + counts.Sum() - pads);
        int next = 0;
        foreach (long id in ids)
        {
            if (id == padTokenId)
            {
                result.AddRange(Enumerable.Repeat(padTokenId, counts[next++]));
            }
            else
            {
                result.Add(id);
            }
        }

        return [.. result];
    }

    /// <summary>The number of tokens an image or video takes in Qwen2-VL's language model: grid_t·grid_h·grid_w / merge² (one token per 2×2 block of patches after the merger).</summary>
    /// <param name="gridT">The temporal grid size (1 for an image).</param>
    /// <param name="gridH">The patch rows.</param>
    /// <param name="gridW">The patch columns.</param>
    /// <param name="mergeSize">The merger's spatial size (<c>merge_size</c> in <c>preprocessor_config.json</c>; 2 for Qwen2-VL).</param>
    /// <returns>The token count.</returns>
    /// <exception cref="ArgumentOutOfRangeException">A size is less than 1, or gridH or gridW is not a multiple of mergeSize.</exception>
    public static int VisionTokenCount(long gridT, long gridH, long gridW, int mergeSize = 2)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(gridT, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(gridH, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(gridW, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(mergeSize, 1);
        if (gridH % mergeSize != 0 || gridW % mergeSize != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(mergeSize), mergeSize, $"The grid ({gridH} x {gridW}) must be a multiple of mergeSize in both directions.");
        }

        long count = checked(gridT * (gridH / mergeSize) * (gridW / mergeSize));
        return count <= int.MaxValue ? (int)count : throw new ArgumentOutOfRangeException(nameof(gridT), count, "The image takes more than int.MaxValue tokens.");
    }

    private static string ReadTemplateText(JsonElement value, string path)
    {
        if (value.ValueKind == JsonValueKind.String)
        {
            return value.GetString()!;
        }

        if (value.ValueKind == JsonValueKind.Array)
        {
            // Several named templates: [{"name": "default", "template": "..."}, {"name": "tool_use", ...}].
            foreach (var entry in value.EnumerateArray())
            {
                if (SnapshotJson.OptionalString(entry, "name", path, "chat_template[].name") == "default")
                {
                    return SnapshotJson.OptionalString(entry, "template", path, "chat_template[default].template")
                        ?? throw new InvalidDataException($"'{path}': the field 'chat_template[default].template' is missing.");
                }
            }

            throw new InvalidDataException($"'{path}': the field 'chat_template' lists named templates but none is named \"default\".");
        }

        throw SnapshotJson.Wrong(path, "chat_template", "a template string or a list of named templates", value);
    }

    private static QwenChatTemplate Parse(string template, string path, string field)
    {
        bool vision = template.Contains("<|image_pad|>", StringComparison.Ordinal);
        if (template.Contains("</think>", StringComparison.Ordinal) && template.Contains("reasoning_content", StringComparison.Ordinal))
        {
            if (vision)
            {
                throw new InvalidDataException($"'{path}': the field '{field}' is a Qwen3 template with vision placeholders (Qwen3-VL), which is not supported.");
            }

            return new QwenChatTemplate(QwenChatTemplateKind.Qwen3, null, supportsVision: false);
        }

        if (!template.Contains("<|im_start|>", StringComparison.Ordinal) || !template.Contains("<|im_end|>", StringComparison.Ordinal))
        {
            throw new InvalidDataException($"'{path}': the field '{field}' is not a Qwen ChatML template (no <|im_start|> / <|im_end|>); only Qwen2, Qwen2.5, Qwen2-VL and Qwen3 templates are supported.");
        }

        // The default system prompt is a literal "<|im_start|>system\n...<|im_end|>" (the newline either real or written "\n"
        // in a Jinja string); the branch that writes the user's own system message concatenates and so holds quotes or '+'.
        var match = DefaultSystemPattern().Match(template);
        return new QwenChatTemplate(QwenChatTemplateKind.ChatMl, match.Success ? match.Groups[1].Value : null, vision);
    }

    [GeneratedRegex(@"<\|im_start\|>system(?:\n|\\n)([^'""{}+\n\\]+)<\|im_end\|>", RegexOptions.CultureInvariant)]
    private static partial Regex DefaultSystemPattern();

    private List<(string Text, bool Trusted)> RenderSegments(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt, bool addVisionId, bool? enableThinking)
    {
        ArgumentNullException.ThrowIfNull(messages);
        if (messages.Count == 0)
        {
            throw new ArgumentException("A conversation needs at least one message.", nameof(messages));
        }

        for (int i = 0; i < messages.Count; i++)
        {
            if (messages[i] is null)
            {
                throw new ArgumentNullException(nameof(messages), $"Message {i} is null.");
            }

            if (!SupportsVision && messages[i].Content.Any(p => p.Kind != ChatContentKind.Text))
            {
                throw new ArgumentException($"Message {i} ({messages[i].Role}) holds an image or video, but this {Kind} template has no vision placeholders (use a Qwen2-VL snapshot's template).", nameof(messages));
            }
        }

        var output = new List<(string Text, bool Trusted)>();
        if (Kind == QwenChatTemplateKind.Qwen3)
        {
            RenderQwen3(messages, output);
        }
        else
        {
            RenderChatMl(messages, addVisionId, output);
        }

        if (addGenerationPrompt)
        {
            output.Add(("<|im_start|>assistant\n", true));
            if (Kind == QwenChatTemplateKind.Qwen3 && enableThinking == false)
            {
                output.Add(("<think>\n\n</think>\n\n", true));
            }
        }

        return output;
    }

    private void RenderChatMl(IReadOnlyList<ChatMessage> messages, bool addVisionId, List<(string Text, bool Trusted)> output)
    {
        if (messages[0].Role != "system" && DefaultSystemPrompt is not null)
        {
            output.Add(("<|im_start|>system\n" + DefaultSystemPrompt + "<|im_end|>\n", true));
        }

        int images = 0;
        int videos = 0;
        foreach (var message in messages)
        {
            output.Add(("<|im_start|>" + message.Role + "\n", true));
            foreach (var part in message.Content)
            {
                switch (part.Kind)
                {
                    case ChatContentKind.Image:
                        images++;
                        output.Add(((addVisionId ? string.Create(CultureInfo.InvariantCulture, $"Picture {images}: ") : string.Empty) + ImagePlaceholder, true));
                        break;
                    case ChatContentKind.Video:
                        videos++;
                        output.Add(((addVisionId ? string.Create(CultureInfo.InvariantCulture, $"Video {videos}: ") : string.Empty) + VideoPlaceholder, true));
                        break;
                    default:
                        output.Add((part.Text, false));
                        break;
                }
            }

            output.Add(("<|im_end|>\n", true));
        }
    }

    private static void RenderQwen3(IReadOnlyList<ChatMessage> messages, List<(string Text, bool Trusted)> output)
    {
        if (messages[0].Role == "system")
        {
            output.Add(("<|im_start|>system\n", true));
            output.Add((messages[0].Text, false));
            output.Add(("<|im_end|>\n", true));
        }

        // The last user message that is not a tool response: reasoning is kept only for assistant turns after it.
        int lastQuery = messages.Count - 1;
        for (int i = messages.Count - 1; i >= 0; i--)
        {
            string text = messages[i].Text;
            if (messages[i].Role == "user" && !(text.StartsWith("<tool_response>", StringComparison.Ordinal) && text.EndsWith("</tool_response>", StringComparison.Ordinal)))
            {
                lastQuery = i;
                break;
            }
        }

        for (int i = 0; i < messages.Count; i++)
        {
            var message = messages[i];
            if (message.Role == "user" || (message.Role == "system" && i > 0))
            {
                output.Add(("<|im_start|>" + message.Role + "\n", true));
                output.Add((message.Text, false));
                output.Add(("<|im_end|>\n", true));
            }
            else if (message.Role == "assistant")
            {
                string content = message.Text;
                string reasoning = string.Empty;
                int close = content.IndexOf("</think>", StringComparison.Ordinal);
                if (close >= 0)
                {
                    string before = content[..close].TrimEnd('\n');
                    int open = before.LastIndexOf("<think>", StringComparison.Ordinal);
                    reasoning = (open >= 0 ? before[(open + "<think>".Length)..] : before).TrimStart('\n');
                    content = content[(content.LastIndexOf("</think>", StringComparison.Ordinal) + "</think>".Length)..].TrimStart('\n');
                }

                output.Add(("<|im_start|>assistant\n", true));
                if (i > lastQuery && (i == messages.Count - 1 || reasoning.Length > 0))
                {
                    output.Add(("<think>\n", true));
                    output.Add((reasoning.Trim('\n'), false));
                    output.Add(("\n</think>\n\n", true));
                    output.Add((content.TrimStart('\n'), false));
                }
                else
                {
                    output.Add((content, false));
                }

                output.Add(("<|im_end|>\n", true));
            }
        }
    }
}
