using System.Text.Json;
using System.Text.RegularExpressions;

namespace Vepa.Models;

/// <summary>The parts of a Hugging Face <c>tokenizer.json</c> a Qwen byte-level BPE tokenizer needs, validated.</summary>
/// <remarks>Anything the Qwen tokenizer does not do (another model type, normalizer, pre-tokenizer, decoder, post-processor, or an
/// added token with lstrip/rstrip/single_word) is rejected with the file and the field, never ignored.</remarks>
internal sealed class TokenizerJson
{
    public required Dictionary<string, int> Vocabulary { get; init; }

    public required List<string> Merges { get; init; }

    public required List<AddedTokenEntry> AddedTokens { get; init; }

    public required bool NormalizeNfc { get; init; }

    public required string Pattern { get; init; }

    /// <summary>One entry of <c>added_tokens</c>.</summary>
    internal sealed record AddedTokenEntry(int Id, string Content, bool Special, bool Normalized);

    public static TokenizerJson Load(string path)
    {
        using var document = SnapshotJson.Load(path);
        var root = document.RootElement;
        var model = SnapshotJson.Require(root, "model", JsonValueKind.Object, path, "model");
        string? type = SnapshotJson.OptionalString(model, "type", path, "model.type");
        if (type != "BPE")
        {
            throw Unsupported(path, "model.type", type, "\"BPE\"");
        }

        if (SnapshotJson.OptionalDouble(model, "dropout", path, "model.dropout") is double dropout && dropout != 0)
        {
            throw Unsupported(path, "model.dropout", dropout.ToString(System.Globalization.CultureInfo.InvariantCulture), "null (BPE dropout is a training-time augmentation)");
        }

        RequireEmpty(model, "continuing_subword_prefix", path);
        RequireEmpty(model, "end_of_word_suffix", path);
        RequireFalse(model, "byte_fallback", path, "model.byte_fallback");
        RequireFalse(model, "ignore_merges", path, "model.ignore_merges");

        var vocabulary = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var entry in SnapshotJson.Require(model, "vocab", JsonValueKind.Object, path, "model.vocab").EnumerateObject())
        {
            if (entry.Value.ValueKind != JsonValueKind.Number || !entry.Value.TryGetInt32(out int id) || id < 0)
            {
                throw SnapshotJson.Wrong(path, $"model.vocab[\"{entry.Name}\"]", "an integer id >= 0", entry.Value);
            }

            vocabulary[entry.Name] = id;
        }

        var merges = new List<string>();
        int index = 0;
        foreach (var merge in SnapshotJson.Require(model, "merges", JsonValueKind.Array, path, "model.merges").EnumerateArray())
        {
            merges.Add(ReadMerge(merge, path, index++, vocabulary));
        }

        var added = new List<AddedTokenEntry>();
        if (SnapshotJson.Get(root, "added_tokens") is { } addedTokens)
        {
            if (addedTokens.ValueKind != JsonValueKind.Array)
            {
                throw SnapshotJson.Wrong(path, "added_tokens", "array", addedTokens);
            }

            index = 0;
            foreach (var token in addedTokens.EnumerateArray())
            {
                added.Add(ReadAddedToken(token, path, $"added_tokens[{index++}]"));
            }
        }

        return new TokenizerJson
        {
            Vocabulary = vocabulary,
            Merges = merges,
            AddedTokens = added,
            NormalizeNfc = ReadNormalizer(root, path),
            Pattern = ReadPreTokenizer(root, path),
        }.CheckDecoders(root, path);
    }

    private TokenizerJson CheckDecoders(JsonElement root, string path)
    {
        var decoder = SnapshotJson.Get(root, "decoder");
        string? decoderType = decoder is { } d ? SnapshotJson.OptionalString(d, "type", path, "decoder.type") : null;
        if (decoderType != "ByteLevel")
        {
            throw Unsupported(path, "decoder.type", decoderType, "\"ByteLevel\"");
        }

        if (SnapshotJson.Get(root, "post_processor") is { } post)
        {
            string? postType = SnapshotJson.OptionalString(post, "type", path, "post_processor.type");
            if (postType != "ByteLevel")
            {
                throw Unsupported(path, "post_processor.type", postType, "null or \"ByteLevel\" (a processor that adds tokens, such as TemplateProcessing, is not supported)");
            }
        }

        return this;
    }

    private static bool ReadNormalizer(JsonElement root, string path)
    {
        if (SnapshotJson.Get(root, "normalizer") is not { } normalizer)
        {
            return false;
        }

        string? type = SnapshotJson.OptionalString(normalizer, "type", path, "normalizer.type");
        return type == "NFC" ? true : throw Unsupported(path, "normalizer.type", type, "null or \"NFC\"");
    }

    private static string ReadPreTokenizer(JsonElement root, string path)
    {
        const string Expected = "a Sequence of Split (a Regex pattern, behavior Isolated, invert false) and ByteLevel (use_regex false, add_prefix_space false)";
        var pre = SnapshotJson.Get(root, "pre_tokenizer") ?? throw new InvalidDataException($"'{path}': the field 'pre_tokenizer' is missing; expected {Expected}.");
        string? type = SnapshotJson.OptionalString(pre, "type", path, "pre_tokenizer.type");
        if (type != "Sequence")
        {
            throw Unsupported(path, "pre_tokenizer.type", type, Expected);
        }

        var steps = SnapshotJson.Require(pre, "pretokenizers", JsonValueKind.Array, path, "pre_tokenizer.pretokenizers");
        if (steps.GetArrayLength() != 2)
        {
            throw Unsupported(path, "pre_tokenizer.pretokenizers", $"{steps.GetArrayLength()} steps", Expected);
        }

        var split = steps[0];
        string? splitType = SnapshotJson.OptionalString(split, "type", path, "pre_tokenizer.pretokenizers[0].type");
        if (splitType != "Split")
        {
            throw Unsupported(path, "pre_tokenizer.pretokenizers[0].type", splitType, "\"Split\"");
        }

        string? behavior = SnapshotJson.OptionalString(split, "behavior", path, "pre_tokenizer.pretokenizers[0].behavior");
        if (behavior != "Isolated")
        {
            throw Unsupported(path, "pre_tokenizer.pretokenizers[0].behavior", behavior, "\"Isolated\"");
        }

        RequireFalse(split, "invert", path, "pre_tokenizer.pretokenizers[0].invert");
        var pattern = SnapshotJson.Require(split, "pattern", JsonValueKind.Object, path, "pre_tokenizer.pretokenizers[0].pattern");
        string regex = SnapshotJson.OptionalString(pattern, "Regex", path, "pre_tokenizer.pretokenizers[0].pattern.Regex")
            ?? throw Unsupported(path, "pre_tokenizer.pretokenizers[0].pattern", pattern.GetRawText(), "a {\"Regex\": ...} pattern");
        try
        {
            _ = new Regex(regex, RegexOptions.CultureInvariant);
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"'{path}': the field 'pre_tokenizer.pretokenizers[0].pattern.Regex' is not a pattern .NET can run: {e.Message}", e);
        }

        var byteLevel = steps[1];
        string? byteLevelType = SnapshotJson.OptionalString(byteLevel, "type", path, "pre_tokenizer.pretokenizers[1].type");
        if (byteLevelType != "ByteLevel")
        {
            throw Unsupported(path, "pre_tokenizer.pretokenizers[1].type", byteLevelType, "\"ByteLevel\"");
        }

        RequireFalse(byteLevel, "add_prefix_space", path, "pre_tokenizer.pretokenizers[1].add_prefix_space");
        RequireFalse(byteLevel, "use_regex", path, "pre_tokenizer.pretokenizers[1].use_regex");
        return regex;
    }

    private static string ReadMerge(JsonElement merge, string path, int index, Dictionary<string, int> vocabulary)
    {
        string Field() => $"model.merges[{index}]";
        string left;
        string right;
        if (merge.ValueKind == JsonValueKind.String)
        {
            // The older form "a b": byte-level tokens never hold a space, so the one space separates the parts.
            string text = merge.GetString()!;
            int space = text.IndexOf(' ', StringComparison.Ordinal);
            if (space <= 0 || space == text.Length - 1 || text.IndexOf(' ', space + 1) >= 0)
            {
                throw new InvalidDataException($"'{path}': the field '{Field()}' must be two tokens separated by one space; got \"{text}\".");
            }

            left = text[..space];
            right = text[(space + 1)..];
        }
        else if (merge.ValueKind == JsonValueKind.Array && merge.GetArrayLength() == 2
            && merge[0].ValueKind == JsonValueKind.String && merge[1].ValueKind == JsonValueKind.String)
        {
            left = merge[0].GetString()!;
            right = merge[1].GetString()!;
            if (left.Contains(' ', StringComparison.Ordinal) || right.Contains(' ', StringComparison.Ordinal))
            {
                throw new InvalidDataException($"'{path}': the field '{Field()}' holds a token with a space, which a byte-level vocabulary cannot have; got [\"{left}\", \"{right}\"].");
            }
        }
        else
        {
            throw SnapshotJson.Wrong(path, Field(), "a string \"a b\" or a pair [\"a\", \"b\"]", merge);
        }

        if (!vocabulary.ContainsKey(left) || !vocabulary.ContainsKey(right) || !vocabulary.ContainsKey(left + right))
        {
            throw new InvalidDataException($"'{path}': the field '{Field()}' merges \"{left}\" and \"{right}\", but \"{(vocabulary.ContainsKey(left) ? vocabulary.ContainsKey(right) ? left + right : right : left)}\" is not in model.vocab.");
        }

        return left + " " + right;
    }

    private static AddedTokenEntry ReadAddedToken(JsonElement token, string path, string field)
    {
        if (token.ValueKind != JsonValueKind.Object)
        {
            throw SnapshotJson.Wrong(path, field, "object", token);
        }

        long id = SnapshotJson.AsInt64(SnapshotJson.Get(token, "id") ?? throw new InvalidDataException($"'{path}': the field '{field}.id' is missing."), path, field + ".id");
        string content = SnapshotJson.OptionalString(token, "content", path, field + ".content") is { Length: > 0 } c
            ? c
            : throw new InvalidDataException($"'{path}': the field '{field}.content' must be a non-empty string.");
        foreach (string flag in (string[])["lstrip", "rstrip", "single_word"])
        {
            if (SnapshotJson.OptionalBool(token, flag, path, $"{field}.{flag}") == true)
            {
                throw Unsupported(path, $"{field}.{flag}", "true", $"false (the added token \"{content}\" would strip or isolate neighbouring text, which Qwen's tokens never do)");
            }
        }

        if (id < 0 || id > int.MaxValue)
        {
            throw new InvalidDataException($"'{path}': the field '{field}.id' must be >= 0; got {id}.");
        }

        return new AddedTokenEntry(
            (int)id,
            content,
            SnapshotJson.OptionalBool(token, "special", path, field + ".special") ?? false,
            SnapshotJson.OptionalBool(token, "normalized", path, field + ".normalized") ?? false);
    }

    private static void RequireEmpty(JsonElement parent, string name, string path)
    {
        if (SnapshotJson.OptionalString(parent, name, path, "model." + name) is { Length: > 0 } value)
        {
            throw Unsupported(path, "model." + name, $"\"{value}\"", "null or \"\"");
        }
    }

    private static void RequireFalse(JsonElement parent, string name, string path, string field)
    {
        if (SnapshotJson.OptionalBool(parent, name, path, field) == true)
        {
            throw Unsupported(path, field, "true", "false");
        }
    }

    private static InvalidDataException Unsupported(string path, string field, string? actual, string expected) =>
        new($"'{path}': the field '{field}' is {(actual is null ? "missing" : actual)}; the Qwen byte-level BPE tokenizer supports only {expected}.");
}
