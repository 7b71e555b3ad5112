using System.Text.Json;

namespace Vepa.Models;

/// <summary>Reads the JSON files of a snapshot folder with errors that name the file and the field.</summary>
internal static class SnapshotJson
{
    /// <summary>Parses a JSON file whose root must be an object.</summary>
    public static JsonDocument Load(string path)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"The snapshot file '{path}' does not exist.", path);
        }

        try
        {
            using var stream = File.OpenRead(path);
            var document = JsonDocument.Parse(stream, new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
            var kind = document.RootElement.ValueKind;
            if (kind != JsonValueKind.Object)
            {
                document.Dispose();
                throw new InvalidDataException($"'{path}': the root must be a JSON object; got {kind}.");
            }

            return document;
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"'{path}' is not valid JSON (line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1}): {e.Message}", e);
        }
    }

    /// <summary>Gets a property, or <see langword="null"/> when it is absent or JSON null.</summary>
    public static JsonElement? Get(JsonElement parent, string name) =>
        parent.ValueKind == JsonValueKind.Object && parent.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null ? value : null;

    /// <summary>Gets a required property of the given kind.</summary>
    public static JsonElement Require(JsonElement parent, string name, JsonValueKind kind, string file, string field)
    {
        var value = Get(parent, name) ?? throw new InvalidDataException($"'{file}': the field '{field}' is missing.");
        return value.ValueKind == kind ? value : throw Wrong(file, field, kind.ToString().ToLowerInvariant(), value);
    }

    /// <summary>Gets an optional string property.</summary>
    public static string? OptionalString(JsonElement parent, string name, string file, string field)
    {
        var value = Get(parent, name);
        return value is null ? null : value.Value.ValueKind == JsonValueKind.String ? value.Value.GetString() : throw Wrong(file, field, "string", value.Value);
    }

    /// <summary>Gets an optional Boolean property.</summary>
    public static bool? OptionalBool(JsonElement parent, string name, string file, string field)
    {
        var value = Get(parent, name);
        return value?.ValueKind switch
        {
            null => null,
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw Wrong(file, field, "true or false", value!.Value),
        };
    }

    /// <summary>Gets an optional number property.</summary>
    public static double? OptionalDouble(JsonElement parent, string name, string file, string field)
    {
        var value = Get(parent, name);
        return value is null ? null : value.Value.ValueKind == JsonValueKind.Number ? value.Value.GetDouble() : throw Wrong(file, field, "number", value.Value);
    }

    /// <summary>Gets an optional integer property.</summary>
    public static long? OptionalInt64(JsonElement parent, string name, string file, string field)
    {
        var value = Get(parent, name);
        return value is null ? null : AsInt64(value.Value, file, field);
    }

    /// <summary>Reads an integer.</summary>
    public static long AsInt64(JsonElement value, string file, string field) =>
        value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out long result) ? result : throw Wrong(file, field, "integer", value);

    /// <summary>The error for a field of the wrong kind.</summary>
    public static InvalidDataException Wrong(string file, string field, string expected, JsonElement actual)
    {
        string text = actual.GetRawText();
        if (text.Length > 80)
        {
            text = text[..80] + "...";
        }

        return new InvalidDataException($"'{file}': the field '{field}' must be {expected}; got {actual.ValueKind} {text}.");
    }
}
