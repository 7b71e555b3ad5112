namespace Vepa.Grpo;

/// <summary>An <see cref="ITokenizer"/> over a <see cref="Microsoft.ML.Tokenizers.Tokenizer"/> (BPE, Tiktoken, SentencePiece, WordPiece …), for policies with a real subword vocabulary.</summary>
/// <remarks>Thread-safe when the wrapped tokenizer is (the Microsoft.ML.Tokenizers implementations are).</remarks>
public sealed class MicrosoftMLTokenizer : ITokenizer
{
    private readonly Microsoft.ML.Tokenizers.Tokenizer _tokenizer;

    /// <summary>Initializes a new instance of the <see cref="MicrosoftMLTokenizer"/> class.</summary>
    /// <param name="tokenizer">The tokenizer to wrap.</param>
    /// <param name="vocabularySize">V, the rows of the model's LM head (often larger than the tokenizer's vocabulary, padded for speed).</param>
    /// <exception cref="ArgumentNullException"><paramref name="tokenizer"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="vocabularySize"/> is less than 1.</exception>
    public MicrosoftMLTokenizer(Microsoft.ML.Tokenizers.Tokenizer tokenizer, int vocabularySize)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentOutOfRangeException.ThrowIfLessThan(vocabularySize, 1);
        _tokenizer = tokenizer;
        VocabularySize = vocabularySize;
    }

    /// <inheritdoc />
    public int VocabularySize { get; }

    /// <summary>Gets the wrapped tokenizer.</summary>
    public Microsoft.ML.Tokenizers.Tokenizer Inner => _tokenizer;

    /// <inheritdoc />
    /// <exception cref="ArgumentException">The tokenizer produced an id outside [0, <see cref="VocabularySize"/>).</exception>
    public IReadOnlyList<long> Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = _tokenizer.EncodeToIds(text);
        var result = new long[ids.Count];
        for (int i = 0; i < result.Length; i++)
        {
            if (ids[i] < 0 || ids[i] >= VocabularySize)
            {
                throw new ArgumentException($"The tokenizer produced id {ids[i]} at position {i}, outside the model's vocabulary [0, {VocabularySize}).", nameof(text));
            }

            result[i] = ids[i];
        }

        return result;
    }

    /// <inheritdoc />
    public string Decode(ReadOnlySpan<long> ids)
    {
        var values = new int[ids.Length];
        for (int i = 0; i < ids.Length; i++)
        {
            if (ids[i] < 0 || ids[i] >= VocabularySize)
            {
                throw new ArgumentOutOfRangeException(nameof(ids), ids[i], $"Token id at position {i} must be in [0, {VocabularySize}).");
            }

            values[i] = (int)ids[i];
        }

        return _tokenizer.Decode(values) ?? string.Empty;
    }
}
