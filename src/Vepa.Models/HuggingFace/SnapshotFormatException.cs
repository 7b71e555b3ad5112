namespace Vepa.Models;

/// <summary>A Hugging Face snapshot folder (config, safetensors shards, index) cannot be loaded as asked.</summary>
/// <remarks>
/// The message names the file and, where one is involved, the tensor or config field; <see cref="FilePath"/> and
/// <see cref="TensorName"/> carry them for code. Loading validates every header, name and shape before it copies any weight,
/// so a thrown load leaves no partially loaded model to the caller.
/// </remarks>
public sealed class SnapshotFormatException : Exception
{
    /// <summary>Initializes a new instance of the <see cref="SnapshotFormatException"/> class.</summary>
    public SnapshotFormatException()
    {
    }

    /// <summary>Initializes a new instance of the <see cref="SnapshotFormatException"/> class with a message.</summary>
    /// <param name="message">The message.</param>
    public SnapshotFormatException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="SnapshotFormatException"/> class with a message and a cause.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public SnapshotFormatException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="SnapshotFormatException"/> class naming the file and tensor.</summary>
    /// <param name="message">The message (it already names the file and the tensor).</param>
    /// <param name="filePath">The file at fault.</param>
    /// <param name="tensorName">The tensor at fault, or <see langword="null"/>.</param>
    /// <param name="innerException">The cause, or <see langword="null"/>.</param>
    public SnapshotFormatException(string message, string? filePath, string? tensorName, Exception? innerException = null)
        : base(message, innerException)
    {
        FilePath = filePath;
        TensorName = tensorName;
    }

    /// <summary>Gets the file at fault (config, index or shard), or <see langword="null"/>.</summary>
    public string? FilePath { get; }

    /// <summary>Gets the tensor (or config field) at fault, or <see langword="null"/>.</summary>
    public string? TensorName { get; }
}
