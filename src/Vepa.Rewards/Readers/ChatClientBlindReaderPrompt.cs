using System.Text;
using Microsoft.Extensions.AI;

namespace Vepa.Rewards;

/// <summary>Builds the conversation a <see cref="ChatClientBlindReader"/> sends for one query.</summary>
internal sealed class ChatClientBlindReaderPrompt
{
    private readonly string? _systemPrompt;
    private readonly string _userPromptTemplate;
    private readonly Func<BlindReaderQuery, IEnumerable<ChatMessage>>? _messagesFactory;

    /// <summary>Initializes a new instance of the <see cref="ChatClientBlindReaderPrompt"/> class from validated options.</summary>
    /// <param name="options">The options (already validated).</param>
    public ChatClientBlindReaderPrompt(ChatClientBlindReaderOptions options)
    {
        string? systemPrompt = options.ReplyFormat == BlindReaderReplyFormat.JsonSchema
            && string.Equals(options.SystemPrompt, ChatClientBlindReaderConstants.DefaultSystemPrompt, StringComparison.Ordinal)
            ? ChatClientBlindReaderConstants.DefaultJsonSystemPrompt
            : options.SystemPrompt;
        _systemPrompt = string.IsNullOrWhiteSpace(systemPrompt) ? null : systemPrompt;
        _userPromptTemplate = options.UserPromptTemplate;
        _messagesFactory = options.MessagesFactory;
    }

    /// <summary>Builds the messages for <paramref name="query"/>; the evidence is neutralised first (<see cref="EvidenceNeutralizer"/>).</summary>
    /// <param name="query">The query.</param>
    /// <returns>The messages to send.</returns>
    /// <exception cref="InvalidOperationException">The user's <see cref="ChatClientBlindReaderOptions.MessagesFactory"/> returned no message.</exception>
    public List<ChatMessage> Build(BlindReaderQuery query)
    {
        query = query with { Evidence = EvidenceNeutralizer.Neutralize(query.Evidence) };
        if (_messagesFactory is not null)
        {
            List<ChatMessage> custom = _messagesFactory(query)?.ToList() ?? [];
            if (custom.Count == 0 || custom.Contains(null!))
            {
                throw new InvalidOperationException("ChatClientBlindReaderOptions.MessagesFactory returned no messages or a null message; it must return at least one message.");
            }

            return custom;
        }

        var messages = new List<ChatMessage>(2);
        if (_systemPrompt is not null)
        {
            messages.Add(new ChatMessage(ChatRole.System, _systemPrompt));
        }

        messages.Add(new ChatMessage(ChatRole.User, Fill(_userPromptTemplate, query)));
        return messages;
    }

    /// <summary>Replaces the placeholders of <paramref name="template"/> in one pass, so text inside the values is never expanded. The evidence is inserted as given (neutralise it first).</summary>
    /// <param name="template">The template.</param>
    /// <param name="query">The values.</param>
    /// <returns>The filled template.</returns>
    internal static string Fill(string template, BlindReaderQuery query)
    {
        var builder = new StringBuilder(template.Length + query.Question.Length + query.Evidence.Length + 64);
        int position = 0;
        while (position < template.Length)
        {
            int brace = template.IndexOf('{', position);
            if (brace < 0)
            {
                builder.Append(template, position, template.Length - position);
                break;
            }

            builder.Append(template, position, brace - position);
            ReadOnlySpan<char> rest = template.AsSpan(brace);
            if (rest.StartsWith(ChatClientBlindReaderConstants.QuestionPlaceholder, StringComparison.Ordinal))
            {
                builder.Append(query.Question);
                position = brace + ChatClientBlindReaderConstants.QuestionPlaceholder.Length;
            }
            else if (rest.StartsWith(ChatClientBlindReaderConstants.EvidencePlaceholder, StringComparison.Ordinal))
            {
                builder.Append(string.IsNullOrWhiteSpace(query.Evidence) ? ChatClientBlindReaderConstants.EmptyEvidenceText : query.Evidence);
                position = brace + ChatClientBlindReaderConstants.EvidencePlaceholder.Length;
            }
            else if (rest.StartsWith(ChatClientBlindReaderConstants.ChoicesPlaceholder, StringComparison.Ordinal))
            {
                AppendChoices(builder, query.Choices);
                position = brace + ChatClientBlindReaderConstants.ChoicesPlaceholder.Length;
            }
            else
            {
                builder.Append('{');
                position = brace + 1;
            }
        }

        return builder.ToString();
    }

    private static void AppendChoices(StringBuilder builder, IReadOnlyList<string>? choices)
    {
        if (choices is null || choices.Count == 0)
        {
            return;
        }

        builder.Append("Options:\n");
        for (int i = 0; i < choices.Count; i++)
        {
            builder.Append(RewardRequest.OptionLabel(i)).Append(". ").Append(choices[i]).Append('\n');
        }
    }
}
