namespace Vepa.Grpo;

/// <summary>
/// What the trainer says about an exception a reward model threw: the message of the host's own code, but only the type of an
/// exception that may quote a server's response or echoed credentials (HTTP, socket and SDK clients).
/// </summary>
internal static class RewardExceptionText
{
    private static readonly string[] ServerTextNamespaces = ["System.Net", "System.ClientModel", "Azure", "OpenAI", "Grpc", "Microsoft.Extensions.AI"];

    /// <summary>The failure reason for the step record and the log.</summary>
    public static string Describe(Exception exception)
        => MayCarryServerText(exception)
            ? $"the reward model threw {exception.GetType().Name}"
            : $"the reward model threw {exception.GetType().Name}: {exception.Message}";

    /// <summary>
    /// Whether the exception or one it wraps comes from a client library whose messages may carry server text. Exceptions that
    /// document a safe message (Vepa's reader and reward exceptions) still count when they wrap such an exception, because the
    /// logger would print the inner one.
    /// </summary>
    public static bool MayCarryServerText(Exception exception)
    {
        for (Exception? e = exception; e is not null; e = e.InnerException)
        {
            if (e is AggregateException aggregate && aggregate.InnerExceptions.Any(MayCarryServerText))
            {
                return true;
            }

            string? ns = e.GetType().Namespace;
            if (ns is not null && ServerTextNamespaces.Any(prefix => ns == prefix || ns.StartsWith(prefix + ".", StringComparison.Ordinal)))
            {
                return true;
            }
        }

        return false;
    }
}
