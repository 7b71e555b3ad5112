namespace Vepa.Rewards;

/// <summary>Classifies exceptions thrown by blind readers.</summary>
internal static class ReaderExceptions
{
    /// <summary>Gets whether retrying may help: HTTP failures, timeouts and I/O errors are transient.</summary>
    /// <param name="exception">The exception.</param>
    /// <returns><see langword="true"/> for <see cref="HttpRequestException"/>, <see cref="TimeoutException"/> and <see cref="IOException"/> (and subclasses).</returns>
    public static bool IsTransient(Exception exception) => exception is HttpRequestException or TimeoutException or IOException;

    /// <summary>Describes an unexpected exception for a failure reason by its type name only: its message may quote a server's response.</summary>
    /// <param name="exception">The exception.</param>
    /// <returns>For example "TimeoutException".</returns>
    public static string Describe(Exception exception) => exception.GetType().Name;
}
