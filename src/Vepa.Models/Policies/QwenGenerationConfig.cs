using System.Text.Json;

namespace Vepa.Models;

/// <summary>Reads the stop ids (<c>eos_token_id</c>, a number or a list) and <c>pad_token_id</c> of a snapshot's <c>generation_config.json</c>.</summary>
internal static class QwenGenerationConfig
{
    /// <summary>Parses the text; <paramref name="source"/> names the file in errors.</summary>
    public static (IReadOnlyList<long> StopIds, long? PadId) Parse(string? json, string source)
    {
        if (json is null)
        {
            return ([], null);
        }

        try
        {
            using var document = JsonDocument.Parse(json);
            var root = document.RootElement;
            var stops = new List<long>();
            if (root.TryGetProperty("eos_token_id", out var eos))
            {
                if (eos.ValueKind == JsonValueKind.Number)
                {
                    stops.Add(eos.GetInt64());
                }
                else if (eos.ValueKind == JsonValueKind.Array)
                {
                    stops.AddRange(eos.EnumerateArray().Select(e => e.GetInt64()));
                }
                else if (eos.ValueKind != JsonValueKind.Null)
                {
                    throw new SnapshotFormatException($"'{source}': eos_token_id must be a number or a list of numbers; got {eos.ValueKind}.", source, "eos_token_id");
                }
            }

            long? pad = root.TryGetProperty("pad_token_id", out var p) && p.ValueKind == JsonValueKind.Number ? p.GetInt64() : null;
            return (stops.Distinct().ToArray(), pad);
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException)
        {
            throw new SnapshotFormatException($"'{source}' is not a valid generation config: {e.Message}", source, null, e);
        }
    }
}
