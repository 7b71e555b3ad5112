namespace Vepa.Engines;

/// <summary>A weight sync failed: the snapshot could not be written, or the engine did not load it. The engine may still serve older weights, so training must stop.</summary>
/// <remarks>The message names the version, the folder and the step that failed; the inner exception holds the cause.</remarks>
public sealed class WeightSyncException : Exception
{
    /// <summary>Initializes a new instance of the <see cref="WeightSyncException"/> class.</summary>
    public WeightSyncException()
        : this("A weight sync failed.")
    {
    }

    /// <summary>Initializes a new instance of the <see cref="WeightSyncException"/> class with a message.</summary>
    /// <param name="message">The message.</param>
    public WeightSyncException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="WeightSyncException"/> class with a message and a cause.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public WeightSyncException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="WeightSyncException"/> class for a version.</summary>
    /// <param name="message">The message.</param>
    /// <param name="version">The version that failed to sync.</param>
    /// <param name="innerException">The cause, or <see langword="null"/>.</param>
    public WeightSyncException(string message, long version, Exception? innerException)
        : base(message, innerException)
    {
        Version = version;
    }

    /// <summary>Gets the weight version that failed to sync, or <see langword="null"/>.</summary>
    public long? Version { get; }
}
