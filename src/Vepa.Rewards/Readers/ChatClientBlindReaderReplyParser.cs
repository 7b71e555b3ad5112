using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Vepa.Rewards;

/// <summary>Reads the verdict and the answer out of a blind reader's reply: a JSON object <c>{"verdict", "answer"}</c> or the reader's verdict line.</summary>
/// <remarks>
/// <para>Readers repeat parts of the description after their verdict (quoting, summarising, reasoning after the fact). Nothing in that
/// repeated material may change the verdict or the answer, so the reader's own verdict line decides. The rules, in order:</para>
/// <list type="number">
/// <item>An empty reply is malformed. The reply is folded before it is read: line breaks unified, invisible and control characters removed,
/// NFKC applied (full-width forms become ASCII), and bracket look-alikes mapped to <c>[</c> <c>]</c> <c>&lt;</c> <c>&gt;</c>, so a look-alike
/// of a tag is read as that tag.</item>
/// <item>Reasoning is skipped from the start: think blocks the reader opened and closed (<c>&lt;think&gt;</c>, <c>&lt;thinking&gt;</c>,
/// <c>&lt;reasoning&gt;</c>, <c>&lt;thought&gt;</c>, nested ones included), and everything before a closing think tag that comes before any
/// verdict (a template that opens the block in the prompt). Scanning stops at the first verdict tag outside reasoning: a think tag after
/// it ends nothing. A reply that is only an unclosed think block, or only closed think blocks, is malformed and says which.</item>
/// <item>A reply that starts with a JSON object (optionally in a code fence) is read from that first object only:
/// <c>{"verdict": "honest" | "cheat", "answer": "…"}</c>; a repeated property, or a verdict tag inside the answer, makes it ambiguous;
/// whatever follows the object is not read.</item>
/// <item>Otherwise the verdict is the first tag <c>[[CHEAT]]</c> or <c>[[honest]]</c> (any case, spaces inside, single brackets accepted)
/// outside reasoning, and its line is the verdict line. Later lines are never read: a tag, a think tag, a JSON verdict or an answer label on
/// them changes nothing. The reply is ambiguous when the verdict line holds a second tag or a JSON verdict, when the tag is inside quotation
/// marks or on a quoted (<c>&gt;</c>) line among other lines, when a closing think tag follows it, and when the reply does not open with
/// its verdict (text before the tag, other than a verdict label) and holds more than one tag. With no tag, the reply fails
/// (<see cref="MissingTagPolicy.Fail"/>) or its first line is read as an honest answer (<see cref="MissingTagPolicy.TreatAsHonest"/>).</item>
/// <item>The answer is on the verdict line: after the tag, past a "Task 2" label in any spelling ("Task 2:", "Task 2)", "Task2 -",
/// "Task two", "(2)", a leading "2." or "2)") or a leading answer label in any spelling (<c>Answer:</c>, <c>Answer -</c>, <c>Answer—</c>,
/// <c>Answer:blue</c>, <c>ANSWER =&gt;</c>, <c>Answer →</c>, <c>Final answer is</c>, <c>The answer is:</c>); when nothing follows the tag, the
/// text before it on the same line without its verdict label ("blue [[honest]]", "Task 1:"). Where the verdict line has no answer, the
/// reply has none: later lines are never searched for one.</item>
/// <item>Only an explanation label and what follows it are cut from the answer (<c>Explanation:</c>, <c>Reason:</c>, <c>Reasoning:</c>,
/// <c>Rationale:</c>, <c>Justification:</c>); a "because" clause, a second sentence or a dashed addition stays, so that the matcher sees
/// every candidate the reader named ("red - blue", "Red. Or blue."). An answer that starts with "because" is none. Then trailing
/// punctuation, markdown and matching quotes or brackets around the whole answer are removed.</item>
/// <item>An answer that is empty after all this makes the reply malformed.</item>
/// </list>
/// <para>Every failure reason is a fixed phrase: the reply is never quoted (a server may fill it with anything, echoed credentials included).</para>
/// </remarks>
internal static partial class ChatClientBlindReaderReplyParser
{
    /// <summary>The reason of a reply that holds only an unclosed think block.</summary>
    public const string UnfinishedReasoning = "the reply holds only unfinished reasoning (<think> without </think>)";

    /// <summary>The reason of a reply that holds only closed think blocks.</summary>
    public const string OnlyReasoning = "the reply holds only reasoning: a closed <think>…</think> block with nothing after it";

    /// <summary>Quotation marks that enclose quoted text; a verdict tag between a pair on its line is quoted, not the reader's own.</summary>
    private static readonly (char Open, char Close)[] QuotePairs = [('"', '"'), ('“', '”'), ('„', '“'), ('«', '»'), ('‹', '›'), ('‘', '’'), ('\'', '\'')];

    /// <summary>Parses a reply.</summary>
    /// <param name="reply">The model's reply text.</param>
    /// <param name="missingTagPolicy">What to do when the reply has no verdict tag.</param>
    /// <returns>The answer and verdict, or the reason the reply is malformed or ambiguous.</returns>
    public static ChatClientBlindReaderParseResult Parse(string? reply, MissingTagPolicy missingTagPolicy)
    {
        if (string.IsNullOrWhiteSpace(reply))
        {
            return ChatClientBlindReaderParseResult.Failure("the reply is empty");
        }

        string folded = Fold(reply);
        if (string.IsNullOrWhiteSpace(folded))
        {
            return ChatClientBlindReaderParseResult.Failure("the reply is empty");
        }

        (string text, Match? tag, string? reasoningError) = SkipReasoning(folded);
        if (reasoningError is not null)
        {
            return ChatClientBlindReaderParseResult.Failure(reasoningError);
        }

        if (TryParseJson(text) is { } json)
        {
            return json;
        }

        if (tag is null)
        {
            if (missingTagPolicy != MissingTagPolicy.TreatAsHonest)
            {
                return ChatClientBlindReaderParseResult.Failure("the reply has no [[CHEAT]] or [[honest]] tag");
            }

            // Without a tag the reader's own line is its first one; nothing after it is read.
            string firstLine = FirstLine(text);
            string untagged = AnswerAfter(firstLine);
            return untagged.Length == 0
                ? ChatClientBlindReaderParseResult.Failure("the reply has no tag and no answer")
                : ChatClientBlindReaderParseResult.Success(untagged, isHonest: true);
        }

        if (IsQuoted(text, tag))
        {
            return ChatClientBlindReaderParseResult.Failure("the reply is ambiguous: its verdict tag is inside quoted text");
        }

        int lineStart = tag.Index == 0 ? 0 : text.LastIndexOf('\n', tag.Index - 1) + 1;
        int lineEnd = text.IndexOf('\n', tag.Index + tag.Length);
        if (lineEnd < 0)
        {
            lineEnd = text.Length;
        }

        if (CleanLine(VerdictLabelRegex().Replace(text[..tag.Index].Replace('\n', ' '), string.Empty)).Trim('`', '~').Trim().Length > 0 && TagRegex().Count(text) is int count and > 1)
        {
            // The reply does not open with its verdict, as the prompt asks: the first tag may be quoted material.
            return ChatClientBlindReaderParseResult.Failure(string.Create(CultureInfo.InvariantCulture, $"the reply is ambiguous: it holds {count} verdict tags and does not open with its verdict"));
        }

        string after = text[(tag.Index + tag.Length)..lineEnd];
        string before = text[lineStart..tag.Index];
        int tagsOnLine = TagRegex().Count(after) + TagRegex().Count(before) + 1;
        if (tagsOnLine > 1)
        {
            return ChatClientBlindReaderParseResult.Failure(string.Create(CultureInfo.InvariantCulture, $"the reply is ambiguous: its verdict line holds {tagsOnLine} verdict tags, not one"));
        }

        if (JsonVerdictRegex().IsMatch(before) || JsonVerdictRegex().IsMatch(after))
        {
            return ChatClientBlindReaderParseResult.Failure("the reply is ambiguous: it holds a verdict tag and a JSON verdict");
        }

        if (ThinkCloseRegex().IsMatch(text[lineStart..]))
        {
            // A closing think tag after the verdict: either reasoning that used a tag before its end, or quoted material that tries to
            // end a reasoning block the reader never opened. Neither is one committed verdict.
            return ChatClientBlindReaderParseResult.Failure("the reply is ambiguous: a closing think tag follows its verdict tag");
        }

        bool isHonest = !tag.Groups["verdict"].Value.StartsWith("cheat", StringComparison.OrdinalIgnoreCase);

        // The answer is on the verdict line, after the tag or, when nothing follows it, before it; never on a later line.
        string answer = AnswerAfter(after);
        if (answer.Length == 0)
        {
            answer = AnswerBefore(before);
        }

        return answer.Length == 0
            ? ChatClientBlindReaderParseResult.Failure("the reply has a verdict tag but no answer on its verdict line")
            : ChatClientBlindReaderParseResult.Success(answer, isHonest);
    }

    /// <summary>Folds a reply so that look-alikes read as what they imitate: NFKC, no invisible characters, ASCII brackets.</summary>
    internal static string Fold(string reply)
    {
        string text = EvidenceNeutralizer.RemoveInvisible(reply.Replace("\r\n", "\n", StringComparison.Ordinal).Replace('\r', '\n'));
        text = text.IsNormalized(NormalizationForm.FormKC) ? text : text.Normalize(NormalizationForm.FormKC);
        text = EvidenceNeutralizer.RemoveInvisible(text);
        var builder = new StringBuilder(text.Length);
        foreach (char c in text)
        {
            builder.Append(c switch
            {
                '(' or ')' or '[' or ']' or '<' or '>' or '{' or '}' => c,
                '‹' or '˂' or 'ᐸ' or '⟨' or '〈' or '❬' or '❮' or '❰' or '⧼' or '﹤' => '<',
                '›' or '˃' or 'ᐳ' or '⟩' or '〉' or '❭' or '❯' or '❱' or '⧽' or '﹥' => '>',
                _ => CharUnicodeInfo.GetUnicodeCategory(c) switch
                {
                    UnicodeCategory.OpenPunctuation => '[',
                    UnicodeCategory.ClosePunctuation => ']',
                    _ => c,
                },
            });
        }

        return builder.ToString();
    }

    /// <summary>Skips the reader's reasoning: think blocks it opened and closed (nested ones included), and everything before a closing
    /// think tag that comes before any verdict (a chat template that opens the block in the prompt). Scanning stops at the first verdict
    /// tag outside reasoning: that is the reader's own verdict, and nothing after it can end a reasoning block any more.</summary>
    /// <returns>The text from the end of the reasoning, the first verdict tag in it (or <see langword="null"/>), or the reason the reply has no final part.</returns>
    private static (string Text, Match? Tag, string? Error) SkipReasoning(string text)
    {
        int depth = 0;
        int reasoningEnd = 0;
        int openedAt = -1;
        bool sawClosed = false;
        Match? verdict = null;
        foreach (Match token in StructureRegex().Matches(text))
        {
            if (token.Groups["open"].Success)
            {
                if (depth++ == 0)
                {
                    openedAt = token.Index;
                }
            }
            else if (token.Groups["close"].Success)
            {
                if (depth > 0)
                {
                    depth--;
                }

                if (depth == 0)
                {
                    reasoningEnd = token.Index + token.Length;
                    sawClosed = true;
                }
            }
            else if (depth == 0)
            {
                verdict = token;
                break;
            }
        }

        int end = depth > 0 && verdict is null ? openedAt : text.Length;
        string rest = text[reasoningEnd..end];
        if (string.IsNullOrWhiteSpace(rest))
        {
            return (string.Empty, null, depth > 0 ? UnfinishedReasoning : sawClosed ? OnlyReasoning : "the reply is empty");
        }

        Match? tag = verdict is null ? null : TagRegex().Match(rest, verdict.Index - reasoningEnd);
        return (rest, tag is { Success: true } ? tag : null, null);
    }

    /// <summary>The first non-empty line of <paramref name="text"/> that is not a code fence.</summary>
    private static string FirstLine(string text)
    {
        foreach (string line in text.Split('\n'))
        {
            string trimmed = line.Trim();
            if (trimmed.Length > 0 && !IsFence(trimmed))
            {
                return trimmed;
            }
        }

        return string.Empty;
    }

    private static bool IsFence(string trimmed)
        => (trimmed.StartsWith("```", StringComparison.Ordinal) || trimmed.StartsWith("~~~", StringComparison.Ordinal))
           && trimmed.Trim('`', '~').Trim().All(char.IsAsciiLetterOrDigit);

    /// <summary>Reads a JSON object reply; <see langword="null"/> when the segment is not JSON.</summary>
    private static ChatClientBlindReaderParseResult? TryParseJson(string segment)
    {
        string trimmed = segment.Trim();
        if (trimmed.StartsWith("```", StringComparison.Ordinal))
        {
            int firstBreak = trimmed.IndexOf('\n', StringComparison.Ordinal);
            int closing = firstBreak < 0 ? -1 : trimmed.IndexOf("```", firstBreak, StringComparison.Ordinal);
            if (firstBreak > 0 && closing > firstBreak)
            {
                trimmed = trimmed[(firstBreak + 1)..closing].Trim();
            }
        }

        if (!trimmed.StartsWith('{'))
        {
            return null;
        }

        // Only the first JSON object is the reader's verdict; whatever follows it (a quote, a summary) is not read.
        JsonDocument document;
        try
        {
            var reader = new Utf8JsonReader(Encoding.UTF8.GetBytes(trimmed), new JsonReaderOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
            document = JsonDocument.ParseValue(ref reader);
        }
        catch (JsonException)
        {
            return null;
        }

        using (document)
        {
            string? verdict = null;
            string? answer = null;
            var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            foreach (JsonProperty property in document.RootElement.EnumerateObject())
            {
                if (!seen.Add(property.Name))
                {
                    return ChatClientBlindReaderParseResult.Failure("the reply is ambiguous: its JSON object repeats a property");
                }

                if (property.Name.Equals("verdict", StringComparison.OrdinalIgnoreCase))
                {
                    verdict = property.Value.ValueKind == JsonValueKind.String ? property.Value.GetString() : null;
                }
                else if (property.Name.Equals("answer", StringComparison.OrdinalIgnoreCase))
                {
                    answer = property.Value.ValueKind switch
                    {
                        JsonValueKind.String => property.Value.GetString(),
                        JsonValueKind.Number => property.Value.GetRawText(),
                        JsonValueKind.True => "yes",
                        JsonValueKind.False => "no",
                        _ => null,
                    };
                }
            }

            bool? honest = verdict?.Trim().Trim('[', ']', ' ').ToLowerInvariant() switch
            {
                "honest" => true,
                "cheat" or "cheating" => false,
                _ => null,
            };
            if (honest is null)
            {
                return ChatClientBlindReaderParseResult.Failure("the JSON reply has no verdict \"honest\" or \"cheat\"");
            }

            if (answer is not null && TagRegex().IsMatch(Fold(answer)))
            {
                return ChatClientBlindReaderParseResult.Failure("the reply is ambiguous: its JSON answer holds a verdict tag");
            }

            string cleaned = answer is null ? string.Empty : TrimAnswer(CutExplanation(CleanLine(Fold(answer).Replace('\n', ' '))));
            return cleaned.Length == 0
                ? ChatClientBlindReaderParseResult.Failure("the JSON reply has a verdict but no answer")
                : ChatClientBlindReaderParseResult.Success(cleaned, honest.Value);
        }
    }

    /// <summary>Gets whether the tag sits inside double quotes on its line, or on a quoted (<c>&gt;</c>) line among unquoted ones.</summary>
    private static bool IsQuoted(string text, Match tag)
    {
        int lineStart = tag.Index == 0 ? 0 : text.LastIndexOf('\n', tag.Index - 1) + 1;
        int lineEnd = text.IndexOf('\n', tag.Index + tag.Length);
        if (lineEnd < 0)
        {
            lineEnd = text.Length;
        }

        ReadOnlySpan<char> before = text.AsSpan(lineStart, tag.Index - lineStart);
        ReadOnlySpan<char> after = text.AsSpan(tag.Index + tag.Length, lineEnd - tag.Index - tag.Length);
        foreach ((char open, char close) in QuotePairs)
        {
            bool opened = open == close
                ? before.Count(open) % 2 == 1 && (open != '\'' || before.TrimEnd().EndsWith("'", StringComparison.Ordinal))
                : before.LastIndexOf(open) > before.LastIndexOf(close);
            if (opened && after.Contains(close))
            {
                return true;
            }
        }

        if (!before.TrimStart().StartsWith(">", StringComparison.Ordinal))
        {
            return false;
        }

        foreach (string line in text.Split('\n'))
        {
            string trimmed = line.Trim();
            if (trimmed.Length > 0 && !trimmed.StartsWith('>') && !trimmed.StartsWith("```", StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Reads the answer from the text after the verdict tag on its line: a "Task 2" label or a numbered "2." marker, else a leading
    /// answer label in any spelling, then the answer up to its explanation.</summary>
    private static string AnswerAfter(string text)
    {
        string line = CleanLine(StripFence(text));
        Match task = TaskTwoRegex().Match(line);
        if (task.Success)
        {
            line = CleanLine(line[(task.Index + task.Length)..]);
        }
        else
        {
            Match label = AnswerLabelRegex().Match(line);
            if (label.Success && label.Length < line.Length)
            {
                line = CleanLine(line[label.Length..]);
            }
            else if (label.Success)
            {
                return string.Empty;
            }
        }

        return TrimAnswer(CutExplanation(line));
    }

    /// <summary>Reads the answer written before the verdict tag on its line ("blue [[honest]]"), without a verdict label ("Verdict:", "Task 1:").</summary>
    private static string AnswerBefore(string text)
    {
        string line = CleanLine(StripFence(text));
        line = CleanLine(VerdictLabelRegex().Replace(line, string.Empty));
        return line.Length == 0 ? string.Empty : AnswerAfter(line);
    }

    /// <summary>Removes code fences on the line ("```blue```" holds "blue").</summary>
    private static string StripFence(string text)
    {
        string trimmed = text.Trim();
        return trimmed.StartsWith("```", StringComparison.Ordinal) || trimmed.StartsWith("~~~", StringComparison.Ordinal) || trimmed.EndsWith("```", StringComparison.Ordinal)
            ? trimmed.Trim('`', '~').Trim()
            : trimmed;
    }

    /// <summary>Removes markdown decoration and list markers at both ends of a line.</summary>
    private static string CleanLine(string line)
    {
        string previous;
        do
        {
            previous = line;
            line = line.Trim();
            line = LeadingDecorationRegex().Replace(line, string.Empty);
            line = line.TrimEnd('*', '_', '`', '~', ' ', '\t', '\r');
        }
        while (line.Length != previous.Length);

        return line;
    }

    /// <summary>Cuts an explanation label and what follows it ("blue Explanation: …", "blue (Reason: …)"). Nothing else is cut: an
    /// explanation, a second sentence or a dashed addition stays in the answer, so the matcher sees every candidate the reader named
    /// ("red - blue", "Red. Or blue.").</summary>
    private static string CutExplanation(string line)
    {
        if (LeadingBecauseRegex().IsMatch(line))
        {
            return string.Empty;
        }

        Match label = ExplanationRegex().Match(line);
        return label.Success ? line[..label.Index] : line;
    }

    private static string TrimAnswer(string answer)
    {
        string previous;
        do
        {
            previous = answer;
            answer = answer.Trim().TrimEnd('.', ',', ';', ':', '!', '*', '_', '`').Trim();
            answer = LeadingDecorationRegex().Replace(answer, string.Empty);
            if (answer.Length >= 2 && IsEnclosingPair(answer[0], answer[^1]))
            {
                answer = answer[1..^1];
            }
        }
        while (answer.Length != previous.Length);

        return answer;
    }

    private static bool IsEnclosingPair(char first, char last) => (first, last) switch
    {
        ('"', '"') or ('\'', '\'') or ('“', '”') or ('‘', '’') or ('`', '`') or ('«', '»') => true,
        _ => false,
    };

    /// <summary>The verdict tag: one or two square brackets around CHEAT or honest, any case, spaces allowed inside.</summary>
    [GeneratedRegex(@"\[\s*\[?\s*(?<verdict>cheat(?:ing|s|ed)?|honest)\s*\]?\s*\]", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex TagRegex();

    /// <summary>A JSON verdict property, as a structured-output reply writes it.</summary>
    [GeneratedRegex(@"""verdict""\s*:\s*""\s*\[*\s*(?:honest|cheat)", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex JsonVerdictRegex();

    /// <summary>A closing think tag, spaces and line breaks allowed inside.</summary>
    [GeneratedRegex(@"<\s*/\s*(?:think|thinking|reasoning|thought)\s*>", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex ThinkCloseRegex();

    /// <summary>Markdown at the start of a line: emphasis, headings, quotes, separators, bullets, numbered markers.</summary>
    [GeneratedRegex(@"^(?:[*_`#>~:]+\s*|[-+•·–—]\s+|\d{1,2}[.)]\s+(?=\S))", RegexOptions.CultureInvariant)]
    private static partial Regex LeadingDecorationRegex();

    /// <summary>An answer label at the start of a (cleaned) line in any spelling: any punctuation, dash or arrow after it or none,
    /// spaces or none ("Answer:", "ANSWER -", "Answer—", "Answer:blue", "Final answer is", "The answer is", "**Answer:**").</summary>
    [GeneratedRegex(@"^(?:the\s+|my\s+)?(?:(?:final|short|blind|best)\s+)?(?:answer|guess)(?:\s+(?:is|would\s+be|:))?(?:\s*[:=;,.\-–—―‒−~>)\]|→⇒➔➜]+|\b)[*_`\s]*", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex AnswerLabelRegex();

    /// <summary>The label of the second task anywhere on the line: "Task 2:", "Task 2)", "Task2 -", "Task two", "(2)", or a "2." / "2)" marker
    /// at the start of the answer or after the first task's marker.</summary>
    [GeneratedRegex(@"(?:\btask\s*(?:2|two|ii)\b(?:\s*\([^)]{0,20}\))?[\s*_`]*[:=;,.\-–—―‒−~>)\]|→⇒]*|(?:^|\s)\(2\)|^2[.):](?=\s+\S))[*_`\s]*", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex TaskTwoRegex();

    /// <summary>A verdict label at the end of the text before the tag ("Verdict:", "Task 1:", "1.", "Cheat check -").</summary>
    [GeneratedRegex(@"(?:\b(?:verdict|task\s*(?:1|one|i)\b(?:\s*\([^)]{0,20}\))?|cheat\s*check|honesty|judg(?:e?ment))|(?:^|\s)\(?1\)?)[\s*_`]*[:=;,.\-–—―‒−~>)\]|→⇒]*[\s*_`]*$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex VerdictLabelRegex();

    /// <summary>Think tags and verdict tags, in reading order.</summary>
    [GeneratedRegex(@"(?<close><\s*/\s*(?:think|thinking|reasoning|thought)\s*>)|(?<open><\s*(?:think|thinking|reasoning|thought)\s*>)|\[\s*\[?\s*(?:cheat(?:ing|s|ed)?|honest)\s*\]?\s*\]", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex StructureRegex();

    /// <summary>An explanation label: where a trailing explanation starts.</summary>
    [GeneratedRegex(@"\s*[(\[]?\b(?:explanation|reason|reasoning|rationale|justification)\s*[*_]*\s*:", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex ExplanationRegex();

    /// <summary>An answer that is only an explanation ("because the description says so").</summary>
    [GeneratedRegex(@"^\s*(?:because|since)\b", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex LeadingBecauseRegex();
}
