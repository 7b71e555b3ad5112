using System.Globalization;
using System.Text;

namespace Vepa.Rewards;

/// <summary>Checks <see cref="ChatClientBlindReaderOptions"/> and reports every problem at once.</summary>
internal static class ChatClientBlindReaderOptionsValidator
{
    /// <summary>Throws when <paramref name="options"/> is invalid, listing every problem.</summary>
    /// <param name="options">The options to check.</param>
    /// <param name="paramName">The name of the caller's parameter.</param>
    /// <exception cref="ArgumentException">At least one problem was found.</exception>
    public static void ThrowIfInvalid(ChatClientBlindReaderOptions options, string paramName)
        => OptionProblems.ThrowIfAny(GetProblems(options), "The blind reader options", paramName);

    /// <summary>Lists the problems of <paramref name="options"/>, each a full sentence.</summary>
    /// <param name="options">The options to check.</param>
    /// <returns>The problems; empty when the options are valid.</returns>
    public static List<string> GetProblems(ChatClientBlindReaderOptions options)
    {
        var problems = new List<string>();
        if (options.MessagesFactory is null)
        {
            string? template = options.UserPromptTemplate;
            if (string.IsNullOrWhiteSpace(template))
            {
                problems.Add("UserPromptTemplate must not be null or empty (or set MessagesFactory).");
            }
            else
            {
                foreach (string placeholder in new[] { ChatClientBlindReaderPrompt.QuestionPlaceholder, ChatClientBlindReaderPrompt.EvidencePlaceholder })
                {
                    if (!template.Contains(placeholder, StringComparison.Ordinal))
                    {
                        problems.Add($"UserPromptTemplate must contain the {placeholder} placeholder; got \"{Shorten(template)}\".");
                    }
                }
            }
        }

        if (!Enum.IsDefined(options.MissingTagPolicy))
        {
            problems.Add(string.Create(CultureInfo.InvariantCulture, $"MissingTagPolicy must be Fail or TreatAsHonest; got {(int)options.MissingTagPolicy}."));
        }

        if (!Enum.IsDefined(options.ReplyFormat))
        {
            problems.Add(string.Create(CultureInfo.InvariantCulture, $"ReplyFormat must be Tags or JsonSchema; got {(int)options.ReplyFormat}."));
        }

        if (options.ChatOptions is { } chatOptions)
        {
            if (chatOptions.MaxOutputTokens is int maxTokens && maxTokens <= 0)
            {
                problems.Add(string.Create(CultureInfo.InvariantCulture, $"ChatOptions.MaxOutputTokens must be positive; got {maxTokens}."));
            }

            if (chatOptions.Temperature is float temperature && !(temperature >= 0f && float.IsFinite(temperature)))
            {
                problems.Add(string.Create(CultureInfo.InvariantCulture, $"ChatOptions.Temperature must be finite and non-negative; got {temperature}."));
            }
        }

        return problems;
    }

    private static string Shorten(string text)
    {
        const int MaxLength = 60;
        var builder = new StringBuilder(text.Length > MaxLength ? text[..MaxLength] : text);
        builder.Replace("\r", "\\r").Replace("\n", "\\n");
        if (text.Length > MaxLength)
        {
            builder.Append('…');
        }

        return builder.ToString();
    }
}
