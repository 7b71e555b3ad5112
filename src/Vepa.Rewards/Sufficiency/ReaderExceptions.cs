namespace Vepa.Rewards;

/// <summary>Classifies exceptions thrown by blind readers.</summary>
internal static class ReaderExceptions
{
    /// <summary>Gets whether retrying may help: HTTP failures, timeouts and I/O errors are transient.</summary>
    /// <param name="exception">The exception.</param>
    /// <returns><see langword="true"/> for <see cref="HttpRequestException"/>, <see cref="TimeoutException"/> and <see cref="IOException"/> (and subclasses).</returns>
    public static bool IsTransient(Exception exception) => exception is HttpRequestException or TimeoutException or IOException;

    /// <summary>Describes an unexpected exception for a failure reason: its type name and message.</summary>
    /// <param name="exception">The exception.</param>
    /// <returns>For example "TimeoutException: The operation has timed out.".</returns>
    public static string Describe(Exception exception) => $"{exception.GetType().Name}: {exception.Message}";
}
