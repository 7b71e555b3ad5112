namespace Vepa.Rewards;

/// <summary>How a <see cref="ChatClientBlindReaderExtensions.AsBlindReader"/> reader asks the model to format its reply.</summary>
public enum BlindReaderReplyFormat
{
    /// <summary>A line that starts with <c>[[CHEAT]]</c> or <c>[[honest]]</c> followed by the answer (the paper's format); works with any chat model.</summary>
    Tags,

    /// <summary>
    /// A JSON object <c>{"verdict": "honest" | "cheat", "answer": "…"}</c> requested through <see cref="Microsoft.Extensions.AI.ChatOptions.ResponseFormat"/>
    /// with a JSON schema (guided decoding on vLLM and SGLang, structured outputs on OpenAI). The reply parser still accepts a tagged line
    /// when a server ignores the schema.
    /// </summary>
    JsonSchema,
}
