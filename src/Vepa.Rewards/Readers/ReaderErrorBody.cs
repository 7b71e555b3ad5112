using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Vepa.Rewards;

/// <summary>What a server's error says about its cause, read from the response body (and the client's exception messages).</summary>
internal enum ReaderErrorCause
{
    /// <summary>Nothing the evidence caused.</summary>
    None,

    /// <summary>The prompt is longer than the reader's context.</summary>
    ContextLength,

    /// <summary>A content filter or a prompt screen rejected the prompt.</summary>
    ContentPolicy,
}

/// <summary>Reads the error bodies of the servers a blind reader talks to, to find whether the evidence caused the error.</summary>
/// <remarks>
/// <para>The bodies recognised (docs/rewards.md has the table with sources):</para>
/// <list type="bullet">
/// <item>OpenAI and Azure OpenAI: <c>{"error": {"message", "type", "param", "code"}}</c> with <c>code</c> <c>context_length_exceeded</c>,
/// <c>string_above_max_length</c>, <c>invalid_prompt</c> (the prompt screen of reasoning models), <c>content_policy_violation</c>,
/// or Azure's <c>content_filter</c> with <c>innererror.code</c> <c>ResponsibleAIPolicyViolation</c>;</item>
/// <item>vLLM, older (<c>{"object": "error", "message", "type": "BadRequestError", "code": 400}</c>) and current
/// (<c>{"error": {"message", "type": "BadRequestError", "param": "input_tokens", "code": 400}}</c>): "This model's maximum context
/// length is …", "… is longer than the maximum model length …", and the negative <c>max_tokens</c> of an over-long prompt;</item>
/// <item>SGLang (vLLM's older shape): "The input (N tokens) is longer than the model's context length (M tokens).";</item>
/// <item>TGI: <c>{"error": "Input validation error: `inputs` tokens + `max_new_tokens` must be &lt;= N …", "error_type": "validation"}</c>
/// and "`inputs` must have less than N tokens";</item>
/// <item>llama.cpp server: <c>{"error": {"code", "message", "type": "exceed_context_size_error", "n_prompt_tokens", "n_ctx"}}</c>, also when
/// it answers HTTP 500, and the older "the request exceeds the available context size";</item>
/// <item>Ollama: <c>{"error": "the input length exceeds the context length"}</c> and its OpenAI-compatible shape.</item>
/// </list>
/// <para>The text is searched, never quoted.</para>
/// </remarks>
internal static partial class ReaderErrorBody
{
    /// <summary>How much of a body is read at most.</summary>
    private const int MaxBodyCharacters = 64 * 1024;

    private static readonly HashSet<string> ContextCodes = new(StringComparer.OrdinalIgnoreCase)
    {
        "context_length_exceeded", "string_above_max_length", "exceed_context_size_error", "context_window_exceeded", "prompt_too_long",
    };

    private static readonly HashSet<string> PolicyCodes = new(StringComparer.OrdinalIgnoreCase)
    {
        "content_filter", "content_policy_violation", "invalid_prompt", "ResponsibleAIPolicyViolation", "content_filtered", "safety",
    };

    /// <summary>Finds the cause an error body (and the exception messages) states.</summary>
    /// <param name="body">The response body, or empty when none could be read.</param>
    /// <param name="messages">The messages of the exception chain.</param>
    /// <returns>The cause.</returns>
    public static ReaderErrorCause Classify(string body, string messages)
    {
        var codes = new List<string>();
        var text = new StringBuilder();
        if (body.Length > MaxBodyCharacters)
        {
            body = body[..MaxBodyCharacters];
        }

        string trimmed = body.TrimStart();
        if (trimmed.StartsWith('{') || trimmed.StartsWith('['))
        {
            try
            {
                using JsonDocument document = JsonDocument.Parse(trimmed);
                Collect(document.RootElement, null, codes, text, depth: 0);
            }
            catch (JsonException)
            {
                text.Append(body);
            }
        }
        else
        {
            text.Append(body);
        }

        if (codes.Any(ContextCodes.Contains))
        {
            return ReaderErrorCause.ContextLength;
        }

        if (codes.Any(PolicyCodes.Contains))
        {
            return ReaderErrorCause.ContentPolicy;
        }

        text.Append('\n').Append(messages);
        string all = text.ToString();
        return ContextLengthRegex().IsMatch(all) ? ReaderErrorCause.ContextLength
            : ContentPolicyRegex().IsMatch(all) ? ReaderErrorCause.ContentPolicy
            : ReaderErrorCause.None;
    }

    private static void Collect(JsonElement element, string? name, List<string> codes, StringBuilder text, int depth)
    {
        if (depth > 16)
        {
            return;
        }

        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (JsonProperty property in element.EnumerateObject())
                {
                    Collect(property.Value, property.Name, codes, text, depth + 1);
                }

                break;
            case JsonValueKind.Array:
                foreach (JsonElement item in element.EnumerateArray())
                {
                    Collect(item, name, codes, text, depth + 1);
                }

                break;
            case JsonValueKind.String:
                string value = element.GetString() ?? string.Empty;
                if (name is "code" or "type" or "error_type" or "reason" or "status")
                {
                    codes.Add(value.Trim());
                }

                text.Append(value).Append('\n');
                break;
        }
    }

    /// <summary>What OpenAI, Azure OpenAI, vLLM, SGLang, TGI, llama.cpp and Ollama say when a prompt is longer than the model's context.</summary>
    [GeneratedRegex(
        @"context[_ ]length[_ ]exceeded|maximum context length|context (?:length|window|size)\b[^\n]{0,40}\b(?:exceed|too|is \d+|of \d+)|(?:longer|larger|more) than the (?:model'?s? )?(?:maximum )?(?:context|model) (?:length|window|size)|(?:prompt|input|request|messages?)\b[^\n]{0,60}\b(?:too long|longer than|exceeds?)|too many (?:input |prompt )?tokens|exceeds? the (?:available |maximum )?context|max_model_len|string_above_max_length|exceed_context_size|`?inputs`?\s*tokens\s*\+\s*`?max_new_tokens`?\s*must be\s*<=|inputs?`?\s*must have less than \d+ tokens|max_tokens must be at least 1, got -\d+|requested tokens? \(\d+\) exceeds? context window",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex ContextLengthRegex();

    /// <summary>What OpenAI (prompt screening, moderation), Azure OpenAI (content filter, prompt shields) and others say when a content
    /// filter stops a request.</summary>
    [GeneratedRegex(
        @"content[_ ]filter|content[_ ]policy|content management policy|responsible ?ai policy|safety system|flagged as potentially violating|violat\w* (?:our |the )?(?:usage|content|safety) polic|prompt (?:was )?(?:blocked|rejected) (?:by|for) (?:safety|moderation)",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex ContentPolicyRegex();
}
