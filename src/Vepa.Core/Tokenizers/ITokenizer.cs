namespace Vepa;

/// <summary>Maps text to token ids and back: the seam between a policy's vocabulary and the reward's text.</summary>
/// <remarks>Implementations are thread-safe for concurrent <see cref="Encode"/> and <see cref="Decode"/> calls.</remarks>
public interface ITokenizer
{
    /// <summary>Gets V, the number of token ids; every id is in [0, V).</summary>
    int VocabularySize { get; }

    /// <summary>Encodes text to token ids.</summary>
    /// <param name="text">The text.</param>
    /// <returns>The ids.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="text"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">The text holds something the vocabulary cannot represent (for a closed vocabulary without an unknown token).</exception>
    IReadOnlyList<long> Encode(string text);

    /// <summary>Decodes token ids to text.</summary>
    /// <param name="ids">The ids, each in [0, V).</param>
    /// <returns>The text.</returns>
    /// <exception cref="ArgumentOutOfRangeException">An id is outside [0, V).</exception>
    string Decode(ReadOnlySpan<long> ids);
}
