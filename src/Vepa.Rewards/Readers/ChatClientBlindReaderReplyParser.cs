using System.Text.RegularExpressions;

namespace Vepa.Rewards;

/// <summary>Reads the verdict tag and the answer out of a blind reader's free-text reply.</summary>
/// <remarks>
/// <para>The rules, in order:</para>
/// <list type="number">
/// <item>An empty reply is malformed. Closed <c>&lt;think&gt;…&lt;/think&gt;</c> blocks are removed; an unclosed one drops everything from it on.</item>
/// <item>
/// The verdict is the first tag <c>[[CHEAT]]</c> or <c>[[honest]]</c> anywhere in the reply, matched ignoring case and spaces
/// inside the brackets (<c>[[ Honest ]]</c>); single brackets (<c>[honest]</c>) are accepted too. Markdown around it
/// (<c>**[[honest]]**</c>, code fences, bullets) and a preamble before it are ignored. With no tag, the reply fails
/// (<see cref="MissingTagPolicy.Fail"/>) or is read as honest in full (<see cref="MissingTagPolicy.TreatAsHonest"/>).
/// </item>
/// <item>
/// The answer comes from the text after the tag (or, when nothing follows it, the text before it). Lines are cleaned of
/// markdown decoration (emphasis, headings, quotes, code fences, bullet and numbered-list markers). The first line that
/// starts with an answer label (<c>Answer:</c>, <c>Final answer:</c>, <c>The answer is</c>, <c>Task 2:</c>) wins, its text
/// being the rest of that line (or the next line when the rest is empty); without such a line, the first non-empty line is the answer line.
/// </item>
/// <item>
/// Trailing explanations are cut from the answer line: at the first <c>because</c>; at an explanation label
/// (<c>Explanation:</c>, <c>Reason:</c>, <c>Reasoning:</c>, <c>Rationale:</c>, <c>Justification:</c>); at a spaced dash
/// (<c> - </c>, <c> – </c>, <c> — </c>); and after the first sentence (a <c>.</c>, <c>!</c> or <c>?</c> followed by a space
/// and a capital letter or digit, unless the word before it is a single letter such as an option label, or a title such as
/// <c>Dr</c>). Then trailing punctuation, markdown and matching quotes or brackets around the whole answer are removed.
/// </item>
/// <item>An answer that is empty after all this makes the reply malformed.</item>
/// </list>
/// </remarks>
internal static partial class ChatClientBlindReaderReplyParser
{
    private static readonly HashSet<string> Abbreviations = new(StringComparer.OrdinalIgnoreCase)
    {
        "mr", "mrs", "ms", "dr", "prof", "st", "jr", "sr", "vs", "fig", "approx", "e.g", "i.e", "etc",
    };

    /// <summary>Parses a reply.</summary>
    /// <param name="reply">The model's reply text.</param>
    /// <param name="missingTagPolicy">What to do when the reply has no verdict tag.</param>
    /// <returns>The answer and verdict, or the reason the reply is malformed.</returns>
    public static ChatClientBlindReaderParseResult Parse(string? reply, MissingTagPolicy missingTagPolicy)
    {
        if (string.IsNullOrWhiteSpace(reply))
        {
            return ChatClientBlindReaderParseResult.Failure("the reply is empty");
        }

        string text = RemoveThinking(reply);
        if (string.IsNullOrWhiteSpace(text))
        {
            return ChatClientBlindReaderParseResult.Failure("the reply holds only unfinished reasoning (<think> without </think>)");
        }

        Match tag = TagRegex().Match(text);
        bool isHonest;
        string answer;
        if (tag.Success)
        {
            isHonest = !tag.Groups["verdict"].Value.StartsWith("cheat", StringComparison.OrdinalIgnoreCase);
            answer = ExtractAnswer(text[(tag.Index + tag.Length)..]);
            if (answer.Length == 0)
            {
                answer = ExtractAnswer(text[..tag.Index]);
            }

            if (answer.Length == 0)
            {
                return ChatClientBlindReaderParseResult.Failure("the reply has a verdict tag but no answer");
            }
        }
        else
        {
            if (missingTagPolicy != MissingTagPolicy.TreatAsHonest)
            {
                return ChatClientBlindReaderParseResult.Failure("the reply has no [[CHEAT]] or [[honest]] tag");
            }

            isHonest = true;
            answer = ExtractAnswer(text);
            if (answer.Length == 0)
            {
                return ChatClientBlindReaderParseResult.Failure("the reply has no tag and no answer");
            }
        }

        return ChatClientBlindReaderParseResult.Success(answer, isHonest);
    }

    private static string RemoveThinking(string reply)
    {
        string text = ThinkBlockRegex().Replace(reply, "\n");
        int unclosed = text.IndexOf("<think>", StringComparison.OrdinalIgnoreCase);
        return unclosed >= 0 ? text[..unclosed] : text;
    }

    private static string ExtractAnswer(string segment)
    {
        // Any further tags are decoration, not answer text.
        segment = TagRegex().Replace(segment, " ");
        var lines = new List<string>();
        foreach (string rawLine in segment.Split('\n'))
        {
            string trimmed = rawLine.Trim();
            if (trimmed.StartsWith("```", StringComparison.Ordinal) || trimmed.StartsWith("~~~", StringComparison.Ordinal))
            {
                // An opening or closing fence, possibly with a language name ("```text"), is not an answer;
                // a fence that opens and closes on one line ("```blue```") holds one.
                string inner = trimmed.Trim('`', '~').Trim();
                bool closesOnSameLine = trimmed.Length > 6 && (trimmed.EndsWith("```", StringComparison.Ordinal) || trimmed.EndsWith("~~~", StringComparison.Ordinal));
                if (inner.Length == 0 || !closesOnSameLine)
                {
                    continue;
                }

                trimmed = inner;
            }

            string line = CleanLine(trimmed);
            if (line.Length > 0)
            {
                lines.Add(line);
            }
        }

        if (lines.Count == 0)
        {
            return string.Empty;
        }

        string answerLine = lines[0];
        for (int i = 0; i < lines.Count; i++)
        {
            Match label = AnswerLabelRegex().Match(lines[i]);
            if (label.Success)
            {
                string rest = CleanLine(lines[i][label.Length..]);
                answerLine = rest.Length > 0 ? rest : (i + 1 < lines.Count ? lines[i + 1] : string.Empty);
                break;
            }
        }

        return TrimAnswer(CutExplanation(answerLine));
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

    private static string CutExplanation(string line)
    {
        Match explanation = ExplanationRegex().Match(line);
        if (explanation.Success)
        {
            line = line[..explanation.Index];
        }

        foreach (Match end in SentenceEndRegex().Matches(line))
        {
            string wordBefore = LastWord(line.AsSpan(0, end.Index));
            if (wordBefore.Length <= 1 || Abbreviations.Contains(wordBefore))
            {
                continue;
            }

            return line[..end.Index];
        }

        return line;
    }

    private static string LastWord(ReadOnlySpan<char> text)
    {
        int end = text.Length;
        int start = end;
        while (start > 0 && !char.IsWhiteSpace(text[start - 1]) && text[start - 1] != '(')
        {
            start--;
        }

        return text[start..end].ToString();
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
    [GeneratedRegex(@"\[\[?\s*(?<verdict>cheat(?:ing)?|honest)\s*\]\]?", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex TagRegex();

    [GeneratedRegex(@"<think>.*?</think>", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant | RegexOptions.Singleline)]
    private static partial Regex ThinkBlockRegex();

    /// <summary>Markdown at the start of a line: emphasis, headings, quotes, separators, bullets, numbered markers.</summary>
    [GeneratedRegex(@"^(?:[*_`#>~:]+\s*|[-+•·–—]\s+|\d{1,2}[.)]\s+(?=\S))", RegexOptions.CultureInvariant)]
    private static partial Regex LeadingDecorationRegex();

    /// <summary>An answer label at the start of a (cleaned) line, with any markdown closing it (<c>**Answer:**</c>).</summary>
    [GeneratedRegex(@"^(?:(?:final\s+|short\s+)?answer\s*(?:is)?\s*[:=\-–—]|the\s+(?:final\s+)?answer\s+is\b\s*:?|task\s*2\s*[:.)\-–—])[*_`\s]*", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex AnswerLabelRegex();

    /// <summary>Where a trailing explanation starts.</summary>
    [GeneratedRegex(@"\s*(?:[,;(]\s*)?\bbecause\b|\s*[(\[]?\b(?:explanation|reason|reasoning|rationale|justification)\s*[*_]*\s*:|\s+[-–—]\s+", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex ExplanationRegex();

    /// <summary>A sentence end followed by another sentence.</summary>
    [GeneratedRegex(@"[.!?](?=\s+[\p{Lu}\d])", RegexOptions.CultureInvariant)]
    private static partial Regex SentenceEndRegex();
}
