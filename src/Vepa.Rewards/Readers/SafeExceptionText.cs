using System.Text;

namespace Vepa.Rewards;

/// <summary>Formats Vepa's own exceptions without the messages of the exceptions they wrap (which may quote response bodies and echoed credentials).</summary>
internal static class SafeExceptionText
{
    /// <summary>Formats <paramref name="exception"/>: type, message, the inner exceptions' type names, stack trace.</summary>
    /// <param name="exception">The exception; its own message must be safe.</param>
    /// <returns>The text.</returns>
    public static string Format(Exception exception)
    {
        var builder = new StringBuilder(exception.GetType().FullName).Append(": ").Append(exception.Message);
        for (Exception? inner = exception.InnerException; inner is not null; inner = inner.InnerException)
        {
            builder.Append(" ---> ").Append(inner.GetType().FullName).Append(" (message not shown: it may quote the server's response)");
        }

        if (exception.StackTrace is { } stackTrace)
        {
            builder.Append(Environment.NewLine).Append(stackTrace);
        }

        return builder.ToString();
    }
}
