using System.Collections.Frozen;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;

namespace Vepa.Models;

/// <summary>
/// Qwen's byte-level BPE tokenizer (Qwen2, Qwen2.5, Qwen3, Qwen2-VL), loaded from a Hugging Face snapshot's <c>tokenizer.json</c>
/// and <c>tokenizer_config.json</c>; token for token the same ids as Hugging Face <c>tokenizers</c>.
/// </summary>
/// <remarks>
/// <para>Encoding follows Hugging Face: added tokens (<c>&lt;|im_start|&gt;</c>, <c>&lt;|image_pad|&gt;</c>, <c>&lt;think&gt;</c> ...)
/// are found as whole strings first (leftmost, longest); the text between them is NFC-normalized, split by the pre-tokenizer
/// pattern read from <c>tokenizer.json</c> (run over code points), mapped to GPT-2's byte alphabet and merged by
/// Microsoft.ML.Tokenizers' <see cref="BpeTokenizer"/> with the snapshot's vocabulary and merges. No BOS or EOS is added.</para>
/// <para>Two sizes: <see cref="TokenCount"/> is the number of ids the tokenizer defines (151,669 for Qwen3, the last being
/// <c>&lt;/think&gt;</c>); <see cref="VocabularySize"/> is V, the rows of the model's embedding and LM head (<c>vocab_size</c> in
/// <c>config.json</c>, 151,936 for Qwen2-VL-2B), padded for speed. Ids in [<see cref="TokenCount"/>, V) have no text: like Hugging
/// Face, <see cref="Decode(ReadOnlySpan{long})"/> writes nothing for them.</para>
/// <para>Immutable and thread-safe.</para>
/// </remarks>
public sealed class QwenTokenizer : ITokenizer
{
    private const string TokenizerFile = "tokenizer.json";
    private const string ConfigFile = "tokenizer_config.json";
    private const string ModelConfigFile = "config.json";

    // Pieces longer than this (UTF-16 units) are merged by ByteLevelMerger: BpeTokenizer's merge loop is quadratic in a piece's length.
    private const int LongPieceThreshold = 128;

    private readonly BpeTokenizer _bpe;
    private readonly CodePointRegexPreTokenizer _preTokenizer;
    private readonly ByteLevelMerger _merger;
    private readonly string?[] _tokens;
    private readonly bool[] _special;
    private readonly Dictionary<string, int> _vocabulary; // read-only after construction
    private readonly AddedTokenSplitter _rawAdded;
    private readonly AddedTokenSplitter _rawAddedNoSpecial;
    private readonly AddedTokenSplitter _normalizedAdded;
    private readonly AddedTokenSplitter _normalizedAddedNoSpecial;
    private readonly bool _normalizeNfc;

    private QwenTokenizer(TokenizerJson json, string tokenizerPath, string? configPath, int? modelVocabularySize, string modelVocabularySource)
    {
        _normalizeNfc = json.NormalizeNfc;
        PreTokenizerPattern = json.Pattern;
        _preTokenizer = new CodePointRegexPreTokenizer(new Regex(json.Pattern, RegexOptions.CultureInvariant | RegexOptions.Compiled));
        _bpe = BpeTokenizer.Create(new BpeOptions(json.Vocabulary)
        {
            Merges = json.Merges,
            PreTokenizer = _preTokenizer,
            ByteLevel = true,
        });
        _merger = new ByteLevelMerger(json.Vocabulary, json.Merges, tokenizerPath);

        var vocabulary = json.Vocabulary;
        var added = new Dictionary<string, int>(StringComparer.Ordinal);
        var special = new Dictionary<string, int>(StringComparer.Ordinal);
        int count = json.Vocabulary.Count == 0 ? 0 : json.Vocabulary.Values.Max() + 1;
        foreach (var token in json.AddedTokens)
        {
            if (vocabulary.TryGetValue(token.Content, out int existing) && existing != token.Id)
            {
                throw new InvalidDataException($"'{tokenizerPath}': the added token \"{token.Content}\" has id {token.Id} but model.vocab gives it id {existing}.");
            }

            vocabulary[token.Content] = token.Id;
            added[token.Content] = token.Id;
            if (token.Special)
            {
                special[token.Content] = token.Id;
            }

            count = Math.Max(count, token.Id + 1);
        }

        _tokens = new string?[count];
        foreach (var (token, id) in vocabulary)
        {
            if (_tokens[id] is { } other && other != token)
            {
                throw new InvalidDataException($"'{tokenizerPath}': id {id} is given to both \"{other}\" and \"{token}\".");
            }

            _tokens[id] = token;
        }

        _special = new bool[count];
        foreach (int id in special.Values)
        {
            _special[id] = true;
        }

        _vocabulary = vocabulary;
        AddedTokens = added.ToFrozenDictionary(StringComparer.Ordinal);
        SpecialTokens = special.ToFrozenDictionary(StringComparer.Ordinal);
        var rawTokens = json.AddedTokens.Where(t => !t.Normalized).ToList();
        var normalizedTokens = json.AddedTokens.Where(t => t.Normalized).ToList();
        _rawAdded = new AddedTokenSplitter(rawTokens.Select(t => (t.Content, t.Id)));
        _rawAddedNoSpecial = new AddedTokenSplitter(rawTokens.Where(t => !t.Special).Select(t => (t.Content, t.Id)));
        _normalizedAdded = new AddedTokenSplitter(normalizedTokens.Select(t => (t.Content, t.Id)));
        _normalizedAddedNoSpecial = new AddedTokenSplitter(normalizedTokens.Where(t => !t.Special).Select(t => (t.Content, t.Id)));
        TokenCount = count;

        if (modelVocabularySize is int v && v < count)
        {
            throw new ArgumentOutOfRangeException(nameof(modelVocabularySize), v, $"The model's vocabulary size ({modelVocabularySource}) must be at least the tokenizer's {count} ids ('{tokenizerPath}').");
        }

        VocabularySize = modelVocabularySize ?? count;

        if (configPath is not null)
        {
            using var config = SnapshotJson.Load(configPath);
            var root = config.RootElement;
            SplitSpecialTokens = SnapshotJson.OptionalBool(root, "split_special_tokens", configPath, "split_special_tokens") ?? false;
            EosToken = ReadTokenName(root, "eos_token", configPath);
            PadToken = ReadTokenName(root, "pad_token", configPath);
            BosToken = ReadTokenName(root, "bos_token", configPath);
            CheckAddedTokensDecoder(root, configPath);
        }
    }

    /// <summary>Gets V, the number of ids the model scores: <c>vocab_size</c> from the snapshot's <c>config.json</c>, else <see cref="TokenCount"/>.</summary>
    public int VocabularySize { get; }

    /// <summary>Gets the number of ids the tokenizer defines (its vocabulary and added tokens); at most <see cref="VocabularySize"/>.</summary>
    public int TokenCount { get; }

    /// <summary>Gets the added tokens (special or not) and their ids; each is matched as a whole string before BPE.</summary>
    public IReadOnlyDictionary<string, int> AddedTokens { get; }

    /// <summary>Gets the added tokens marked <c>special</c> and their ids (skipped by <see cref="Decode(ReadOnlySpan{long}, bool)"/> on request, and split as text when <see cref="Encode(string, bool)"/> is asked to).</summary>
    public IReadOnlyDictionary<string, int> SpecialTokens { get; }

    /// <summary>Gets the end-of-sequence token named by <c>tokenizer_config.json</c> (<c>&lt;|im_end|&gt;</c> for instruct models), or <see langword="null"/>.</summary>
    public string? EosToken { get; }

    /// <summary>Gets the padding token named by <c>tokenizer_config.json</c> (<c>&lt;|endoftext|&gt;</c>), or <see langword="null"/>.</summary>
    public string? PadToken { get; }

    /// <summary>Gets the beginning-of-sequence token named by <c>tokenizer_config.json</c> (Qwen has none), or <see langword="null"/>.</summary>
    public string? BosToken { get; }

    /// <summary>Gets the id of <see cref="EosToken"/>, or <see langword="null"/>.</summary>
    public int? EosTokenId => EosToken is null ? null : _vocabulary[EosToken];

    /// <summary>Gets the id of <see cref="PadToken"/>, or <see langword="null"/>.</summary>
    public int? PadTokenId => PadToken is null ? null : _vocabulary[PadToken];

    /// <summary>Gets whether <see cref="Encode(string)"/> treats special tokens in the text as plain text (<c>split_special_tokens</c> in <c>tokenizer_config.json</c>).</summary>
    /// <value>The default (and Qwen's) is <see langword="false"/>: special tokens in the text are matched.</value>
    public bool SplitSpecialTokens { get; }

    /// <summary>Gets the pre-tokenizer's split pattern as read from <c>tokenizer.json</c>.</summary>
    public string PreTokenizerPattern { get; }

    /// <summary>Loads the tokenizer of a Hugging Face snapshot folder.</summary>
    /// <param name="folder">The folder holding <c>tokenizer.json</c>, and optionally <c>tokenizer_config.json</c> and <c>config.json</c>.</param>
    /// <param name="modelVocabularySize">V, the model's vocabulary size; <see langword="null"/> reads <c>vocab_size</c> (or <c>text_config.vocab_size</c>) from <c>config.json</c>, or uses <see cref="TokenCount"/> when there is no <c>config.json</c>.</param>
    /// <returns>The tokenizer.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="folder"/> is <see langword="null"/>.</exception>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="FileNotFoundException"><c>tokenizer.json</c> is missing.</exception>
    /// <exception cref="InvalidDataException">A file is malformed or describes a tokenizer this type does not implement; the message names the file and the field.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The model's vocabulary size is smaller than the tokenizer's.</exception>
    public static QwenTokenizer FromPretrained(string folder, int? modelVocabularySize = null)
    {
        ArgumentNullException.ThrowIfNull(folder);
        if (!Directory.Exists(folder))
        {
            throw new DirectoryNotFoundException($"The snapshot folder '{folder}' does not exist.");
        }

        string tokenizerPath = Path.Combine(folder, TokenizerFile);
        string configPath = Path.Combine(folder, ConfigFile);
        string source = "the modelVocabularySize argument";
        if (modelVocabularySize is null)
        {
            string modelConfigPath = Path.Combine(folder, ModelConfigFile);
            if (File.Exists(modelConfigPath))
            {
                modelVocabularySize = ReadModelVocabularySize(modelConfigPath);
                source = $"vocab_size in '{modelConfigPath}'";
            }
        }

        return FromFiles(tokenizerPath, File.Exists(configPath) ? configPath : null, modelVocabularySize, source);
    }

    /// <summary>Loads the tokenizer from a <c>tokenizer.json</c> and an optional <c>tokenizer_config.json</c>.</summary>
    /// <param name="tokenizerJsonPath">The path of <c>tokenizer.json</c>.</param>
    /// <param name="tokenizerConfigPath">The path of <c>tokenizer_config.json</c>, or <see langword="null"/> (then no EOS, pad or BOS names).</param>
    /// <param name="modelVocabularySize">V, the model's vocabulary size, or <see langword="null"/> for <see cref="TokenCount"/>.</param>
    /// <returns>The tokenizer.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="tokenizerJsonPath"/> is <see langword="null"/>.</exception>
    /// <exception cref="FileNotFoundException">A file is missing.</exception>
    /// <exception cref="InvalidDataException">A file is malformed or describes a tokenizer this type does not implement; the message names the file and the field.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="modelVocabularySize"/> is smaller than the tokenizer's.</exception>
    public static QwenTokenizer FromFiles(string tokenizerJsonPath, string? tokenizerConfigPath = null, int? modelVocabularySize = null) =>
        FromFiles(tokenizerJsonPath, tokenizerConfigPath, modelVocabularySize, "the modelVocabularySize argument");

    private static QwenTokenizer FromFiles(string tokenizerJsonPath, string? tokenizerConfigPath, int? modelVocabularySize, string source)
    {
        ArgumentNullException.ThrowIfNull(tokenizerJsonPath);
        var json = TokenizerJson.Load(tokenizerJsonPath);
        return new QwenTokenizer(json, tokenizerJsonPath, tokenizerConfigPath, modelVocabularySize, source);
    }

    /// <summary>Gets the id of a token (a vocabulary entry or an added token, e.g. <c>&lt;|image_pad|&gt;</c>).</summary>
    /// <param name="token">The token, exactly as in <c>tokenizer.json</c>.</param>
    /// <returns>Its id.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="token"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">The tokenizer has no such token.</exception>
    public int GetTokenId(string token)
    {
        ArgumentNullException.ThrowIfNull(token);
        return _vocabulary.TryGetValue(token, out int id)
            ? id
            : throw new ArgumentException($"The tokenizer has no token \"{token}\" (added tokens: {string.Join(", ", AddedTokens.Keys)}).", nameof(token));
    }

    /// <summary>Gets the id of a token, if the tokenizer has it.</summary>
    /// <param name="token">The token.</param>
    /// <param name="id">Its id, when found.</param>
    /// <returns>Whether the token exists.</returns>
    public bool TryGetTokenId(string token, out int id)
    {
        ArgumentNullException.ThrowIfNull(token);
        return _vocabulary.TryGetValue(token, out id);
    }

    /// <summary>Gets the token string of an id (in GPT-2's byte alphabet for BPE tokens: 'Ġ' is a space), or <see langword="null"/> for an id in [<see cref="TokenCount"/>, <see cref="VocabularySize"/>).</summary>
    /// <param name="id">The id.</param>
    /// <returns>The token, or <see langword="null"/>.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="id"/> is outside [0, <see cref="VocabularySize"/>).</exception>
    public string? GetToken(long id)
    {
        if (id < 0 || id >= VocabularySize)
        {
            throw new ArgumentOutOfRangeException(nameof(id), id, $"Token id must be in [0, {VocabularySize}).");
        }

        return id < _tokens.Length ? _tokens[id] : null;
    }

    /// <inheritdoc />
    /// <remarks>Special tokens in the text are matched unless <see cref="SplitSpecialTokens"/> is set. Text from an untrusted source (a
    /// user, a document) should go through <see cref="Encode(string, bool)"/> with <c>splitSpecialTokens: true</c>, so that a literal
    /// <c>&lt;|im_end|&gt;</c> in it cannot end a turn.</remarks>
    /// <exception cref="ArgumentException">The text holds an unpaired UTF-16 surrogate.</exception>
    public IReadOnlyList<long> Encode(string text) => Encode(text, SplitSpecialTokens);

    /// <summary>Encodes text to token ids, choosing whether special tokens in the text are matched or split as plain text.</summary>
    /// <param name="text">The text.</param>
    /// <param name="splitSpecialTokens">Whether special tokens (<see cref="SpecialTokens"/>) in the text are encoded as ordinary text (Hugging Face's <c>split_special_tokens=True</c>). Non-special added tokens (<c>&lt;think&gt;</c>) are matched either way, as in Hugging Face.</param>
    /// <returns>The ids.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="text"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">The text holds an unpaired UTF-16 surrogate.</exception>
    public IReadOnlyList<long> Encode(string text, bool splitSpecialTokens)
    {
        ArgumentNullException.ThrowIfNull(text);
        return splitSpecialTokens
            ? EncodeCore(text, _rawAddedNoSpecial.Split(text), _normalizedAddedNoSpecial)
            : EncodeCore(text, _rawAdded.Split(text), _normalizedAdded);
    }

    /// <summary>Encodes the concatenation of segments, matching special tokens only inside trusted segments (template text) and
    /// treating them as plain text inside untrusted ones (message content); otherwise exactly <see cref="Encode(string, bool)"/>.</summary>
    internal IReadOnlyList<long> EncodeSegments(IReadOnlyList<(string Text, bool Trusted)> segments)
    {
        var text = new StringBuilder();
        var untrusted = new List<(int Start, int End)>();
        foreach (var (segment, trusted) in segments)
        {
            if (!trusted && segment.Length > 0)
            {
                untrusted.Add((text.Length, text.Length + segment.Length));
            }

            text.Append(segment);
        }

        string joined = text.ToString();
        bool Accept(int start, int id)
        {
            if (!_special[id])
            {
                return true;
            }

            int end = start + _tokens[id]!.Length;
            return !untrusted.Any(r => start < r.End && end > r.Start);
        }

        return EncodeCore(joined, _rawAdded.Split(joined, Accept), _normalizedAddedNoSpecial);
    }

    /// <summary>Encodes as <see cref="Encode(string, bool)"/> but merges every piece with <see cref="ByteLevelMerger"/> (for tests: both merge paths must give the reference ids).</summary>
    internal IReadOnlyList<long> EncodeWithMergerOnly(string text) => EncodeCore(text, _rawAdded.Split(text), _normalizedAdded, forceMerger: true);

    private void EncodePlain(string text, List<long> ids, bool forceMerger)
    {
        foreach (var (offset, length) in _preTokenizer.Split(text))
        {
            string piece = text.Substring(offset, length);
            if (forceMerger || length > LongPieceThreshold)
            {
                _merger.Encode(piece, ids);
            }
            else
            {
                foreach (int id in _bpe.EncodeToIds(piece, considerPreTokenization: false, considerNormalization: false))
                {
                    ids.Add(id);
                }
            }
        }
    }

    private List<long> EncodeCore(string text, List<(int Start, int Length, int Id)> runs, AddedTokenSplitter normalized, bool forceMerger = false)
    {
        var ids = new List<long>(text.Length / 3 + 4);
        foreach (var (start, length, id) in runs)
        {
            if (id >= 0)
            {
                ids.Add(id);
                continue;
            }

            string piece = text.Substring(start, length);
            ThrowOnUnpairedSurrogate(text, start, length);
            if (_normalizeNfc)
            {
                piece = UnicodeNfc.Normalize(piece);
            }

            foreach (var (s, l, normalizedId) in normalized.Split(piece))
            {
                if (normalizedId >= 0)
                {
                    ids.Add(normalizedId);
                }
                else
                {
                    EncodePlain(piece.Substring(s, l), ids, forceMerger);
                }
            }
        }

        return ids;
    }

    /// <inheritdoc />
    /// <remarks>As Hugging Face's <c>decode(ids, skip_special_tokens=False)</c>: the bytes of all tokens are joined and read as UTF-8,
    /// an invalid sequence becoming U+FFFD; ids in [<see cref="TokenCount"/>, <see cref="VocabularySize"/>) write nothing.</remarks>
    public string Decode(ReadOnlySpan<long> ids) => Decode(ids, skipSpecialTokens: false);

    /// <summary>Decodes token ids to text.</summary>
    /// <param name="ids">The ids, each in [0, <see cref="VocabularySize"/>).</param>
    /// <param name="skipSpecialTokens">Whether special tokens (<see cref="SpecialTokens"/>) are left out, as Hugging Face's <c>skip_special_tokens=True</c>.</param>
    /// <returns>The text.</returns>
    /// <exception cref="ArgumentOutOfRangeException">An id is outside [0, <see cref="VocabularySize"/>).</exception>
    public string Decode(ReadOnlySpan<long> ids, bool skipSpecialTokens)
    {
        var bytes = new List<byte>(ids.Length * 4);
        for (int i = 0; i < ids.Length; i++)
        {
            long id = ids[i];
            if (id < 0 || id >= VocabularySize)
            {
                throw new ArgumentOutOfRangeException(nameof(ids), id, $"Token id at position {i} must be in [0, {VocabularySize}).");
            }

            if (id >= _tokens.Length || _tokens[id] is not { } token || (skipSpecialTokens && _special[id]))
            {
                continue;
            }

            ByteLevelAlphabet.AppendBytes(token, bytes);
        }

        return Encoding.UTF8.GetString(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(bytes));
    }

    private static void ThrowOnUnpairedSurrogate(string text, int start, int length)
    {
        for (int i = start; i < start + length; i++)
        {
            if (char.IsHighSurrogate(text[i]) && i + 1 < start + length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(text[i]))
            {
                throw new ArgumentException($"The text holds an unpaired UTF-16 surrogate (U+{(int)text[i]:X4}) at index {i}; it is not valid Unicode and has no UTF-8 bytes.", nameof(text));
            }
        }
    }

    private static int ReadModelVocabularySize(string path)
    {
        using var config = SnapshotJson.Load(path);
        var root = config.RootElement;
        long? size = SnapshotJson.OptionalInt64(root, "vocab_size", path, "vocab_size");
        if (size is null && SnapshotJson.Get(root, "text_config") is { ValueKind: JsonValueKind.Object } textConfig)
        {
            size = SnapshotJson.OptionalInt64(textConfig, "vocab_size", path, "text_config.vocab_size");
        }

        return size switch
        {
            null => throw new InvalidDataException($"'{path}': the field 'vocab_size' is missing (nor is there 'text_config.vocab_size')."),
            < 1 or > int.MaxValue => throw new InvalidDataException($"'{path}': the field 'vocab_size' must be in [1, {int.MaxValue}]; got {size}."),
            _ => (int)size,
        };
    }

    private string? ReadTokenName(JsonElement root, string field, string path)
    {
        if (SnapshotJson.Get(root, field) is not { } value)
        {
            return null;
        }

        string? name = value.ValueKind switch
        {
            JsonValueKind.String => value.GetString(),
            JsonValueKind.Object => SnapshotJson.OptionalString(value, "content", path, field + ".content"),
            _ => throw SnapshotJson.Wrong(path, field, "a token string or {\"content\": ...}", value),
        };
        return name is not null && _vocabulary.ContainsKey(name)
            ? name
            : throw new InvalidDataException($"'{path}': the field '{field}' names the token \"{name}\", which is not in the tokenizer's vocabulary or added tokens.");
    }

    private void CheckAddedTokensDecoder(JsonElement root, string path)
    {
        if (SnapshotJson.Get(root, "added_tokens_decoder") is not { } decoder)
        {
            return;
        }

        if (decoder.ValueKind != JsonValueKind.Object)
        {
            throw SnapshotJson.Wrong(path, "added_tokens_decoder", "object", decoder);
        }

        foreach (var entry in decoder.EnumerateObject())
        {
            string field = $"added_tokens_decoder[\"{entry.Name}\"]";
            if (!int.TryParse(entry.Name, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int id))
            {
                throw new InvalidDataException($"'{path}': the key of '{field}' must be a token id.");
            }

            string? content = SnapshotJson.OptionalString(entry.Value, "content", path, field + ".content");
            string? ours = id < _tokens.Length ? _tokens[id] : null;
            if (content is null || ours != content)
            {
                throw new InvalidDataException($"'{path}': the field '{field}.content' is \"{content}\" but tokenizer.json gives id {id} to \"{ours}\"; the two files disagree.");
            }
        }
    }
}
