namespace Vepa;

/// <summary>A closed word-level vocabulary for small models: one id per word, words split on white space, decoded joined by single spaces.</summary>
/// <remarks>Immutable and thread-safe.</remarks>
public sealed class WordTokenizer : ITokenizer
{
    private readonly string[] _words;
    private readonly Dictionary<string, long> _ids;
    private readonly long? _unknownId;

    /// <summary>Initializes a new instance of the <see cref="WordTokenizer"/> class.</summary>
    /// <param name="vocabulary">The words; the id of a word is its index. Special tokens (<c>&lt;eos&gt;</c>, <c>&lt;bos&gt;</c>) are ordinary entries.</param>
    /// <param name="unknownToken">A vocabulary entry that unknown words encode to, or <see langword="null"/> to reject unknown words.</param>
    /// <param name="ignoreCase">Whether words match the vocabulary case-insensitively.</param>
    /// <exception cref="ArgumentNullException"><paramref name="vocabulary"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">The vocabulary is empty, holds an empty, white-space-containing or duplicate entry, or <paramref name="unknownToken"/> is not in it.</exception>
    public WordTokenizer(IEnumerable<string> vocabulary, string? unknownToken = null, bool ignoreCase = false)
    {
        ArgumentNullException.ThrowIfNull(vocabulary);
        _words = vocabulary.ToArray();
        if (_words.Length == 0)
        {
            throw new ArgumentException("The vocabulary must hold at least one word; got 0.", nameof(vocabulary));
        }

        _ids = new Dictionary<string, long>(ignoreCase ? StringComparer.OrdinalIgnoreCase : StringComparer.Ordinal);
        for (int i = 0; i < _words.Length; i++)
        {
            string word = _words[i];
            if (string.IsNullOrEmpty(word) || word.Any(char.IsWhiteSpace))
            {
                throw new ArgumentException($"vocabulary[{i}] must be a non-empty word without white space; got \"{word}\".", nameof(vocabulary));
            }

            if (!_ids.TryAdd(word, i))
            {
                throw new ArgumentException($"vocabulary[{i}] (\"{word}\") duplicates vocabulary[{_ids[word]}].", nameof(vocabulary));
            }
        }

        if (unknownToken is not null)
        {
            _unknownId = _ids.TryGetValue(unknownToken, out long id)
                ? id
                : throw new ArgumentException($"The unknown token \"{unknownToken}\" is not in the vocabulary.", nameof(unknownToken));
        }
    }

    /// <inheritdoc />
    public int VocabularySize => _words.Length;

    /// <summary>Gets the words, indexed by id.</summary>
    public IReadOnlyList<string> Vocabulary => _words;

    /// <summary>Gets the id of a vocabulary entry.</summary>
    /// <param name="word">The entry.</param>
    /// <returns>Its id.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="word"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="word"/> is not in the vocabulary.</exception>
    public long IdOf(string word)
    {
        ArgumentNullException.ThrowIfNull(word);
        return _ids.TryGetValue(word, out long id) ? id : throw new ArgumentException($"\"{word}\" is not in the vocabulary.", nameof(word));
    }

    /// <inheritdoc />
    public IReadOnlyList<long> Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        string[] words = text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        var ids = new long[words.Length];
        for (int i = 0; i < words.Length; i++)
        {
            if (_ids.TryGetValue(words[i], out long id))
            {
                ids[i] = id;
            }
            else if (_unknownId is long unknown)
            {
                ids[i] = unknown;
            }
            else
            {
                throw new ArgumentException($"Word {i} (\"{words[i]}\") is not in the vocabulary and no unknown token was configured.", nameof(text));
            }
        }

        return ids;
    }

    /// <inheritdoc />
    public string Decode(ReadOnlySpan<long> ids)
    {
        var words = new string[ids.Length];
        for (int i = 0; i < ids.Length; i++)
        {
            long id = ids[i];
            if (id < 0 || id >= _words.Length)
            {
                throw new ArgumentOutOfRangeException(nameof(ids), id, $"Token id at position {i} must be in [0, {_words.Length}).");
            }

            words[i] = _words[id];
        }

        return string.Join(' ', words);
    }
}
