namespace Vepa.Models;

/// <summary>
/// Renders one user turn in Qwen's ChatML format, as the snapshots' chat templates do with <c>add_generation_prompt</c>:
/// <c>&lt;|im_start|&gt;system\n…&lt;|im_end|&gt;\n&lt;|im_start|&gt;user\n[&lt;|vision_start|&gt;&lt;|image_pad|&gt;×N&lt;|vision_end|&gt;]text&lt;|im_end|&gt;\n&lt;|im_start|&gt;assistant\n</c>.
/// Special tokens are written by id; the user's text is encoded with special tokens split as plain text, so a literal
/// <c>&lt;|im_end|&gt;</c> in a question cannot end the turn.
/// </summary>
internal static class QwenChatPrompt
{
    /// <summary>Returns the prompt ids of a system turn (when <paramref name="system"/> is not <see langword="null"/>), a user turn with an optional image, and the assistant header.</summary>
    public static long[] Encode(QwenTokenizer tokenizer, string? system, string userText, int imagePadTokens)
    {
        long imStart = Special(tokenizer, "<|im_start|>");
        long imEnd = Special(tokenizer, "<|im_end|>");
        var ids = new List<long>();
        void Turn(string role, Action content)
        {
            ids.Add(imStart);
            ids.AddRange(tokenizer.Encode(role + "\n", splitSpecialTokens: true));
            content();
            ids.Add(imEnd);
            ids.AddRange(tokenizer.Encode("\n", splitSpecialTokens: true));
        }

        if (system is not null)
        {
            Turn("system", () => ids.AddRange(tokenizer.Encode(system, splitSpecialTokens: true)));
        }

        Turn("user", () =>
        {
            if (imagePadTokens > 0)
            {
                ids.Add(Special(tokenizer, "<|vision_start|>"));
                long pad = Special(tokenizer, "<|image_pad|>");
                for (int i = 0; i < imagePadTokens; i++)
                {
                    ids.Add(pad);
                }

                ids.Add(Special(tokenizer, "<|vision_end|>"));
            }

            ids.AddRange(tokenizer.Encode(userText, splitSpecialTokens: true));
        });
        ids.Add(imStart);
        ids.AddRange(tokenizer.Encode("assistant\n", splitSpecialTokens: true));
        return ids.ToArray();
    }

    /// <summary>Returns the id of a special token the chat format needs, or throws naming it.</summary>
    public static long Special(QwenTokenizer tokenizer, string token) =>
        tokenizer.TryGetTokenId(token, out int id)
            ? id
            : throw new InvalidOperationException($"The tokenizer has no '{token}' token, which Qwen's chat format needs; is this a Qwen tokenizer.json?");
}
