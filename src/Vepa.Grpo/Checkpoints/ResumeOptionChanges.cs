using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Vepa.Grpo;

/// <summary>The settings that differ between a checkpoint's saved options and the trainer's, and which of them a resume refuses.</summary>
internal static class ResumeOptionChanges
{
    /// <summary>Settings whose change breaks the run's exactness or meaning: the group size, the loss variant, the advantage normalisation, the seed.</summary>
    private static readonly HashSet<string> Refused = new(StringComparer.Ordinal)
    {
        "GroupSize",
        "Seed",
        "Loss.Objective",
        "Loss.RatioLevel",
        "Loss.Aggregation",
        "Loss.KlEstimator",
        "Loss.SamplerCorrection",
        "Advantages.Normalization",
    };

    /// <summary>Where the run's files go: changing them is how a copied run is resumed, so they are never reported.</summary>
    private static readonly HashSet<string> Ignored = new(StringComparer.Ordinal)
    {
        "CheckpointDirectory",
        "StepLogPath",
        "OverwriteCheckpoints",
        "AllowResumeWithChangedOptions",
    };

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        Converters = { new JsonStringEnumConverter() },
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>Lists the changed settings, dotted paths in order; empty when the checkpoint saved no options.</summary>
    public static Change[] Between(JsonNode? saved, GrpoTrainerOptions current)
    {
        if (saved is null)
        {
            return [];
        }

        var before = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var after = new SortedDictionary<string, string>(StringComparer.Ordinal);
        Flatten(saved, "", before);
        Flatten(JsonSerializer.SerializeToNode(current, JsonOptions), "", after);
        var changes = new List<Change>();
        foreach (string key in before.Keys.Union(after.Keys).Order(StringComparer.Ordinal))
        {
            if (Ignored.Contains(key))
            {
                continue;
            }

            string old = Canonical(key, before.GetValueOrDefault(key, "(absent)"));
            string now = Canonical(key, after.GetValueOrDefault(key, "(absent)"));
            if (!string.Equals(old, now, StringComparison.Ordinal))
            {
                changes.Add(new Change(key, old, now, Refused.Contains(key)));
            }
        }

        return [.. changes];
    }

    /// <summary>A policy-loss kernel as one spelling: names are case-insensitive, "auto" is the default (null), and checkpoints
    /// written before kernels were chosen by registered name hold the enum values "Auto", "FusedTensor" and "Managed".</summary>
    private static string Canonical(string key, string json) => key != "Loss.Kernel" ? json : json.ToLowerInvariant() switch
    {
        "\"auto\"" => "null",
        "\"fusedtensor\"" => "\"fused-tensor\"",
        var name => name,
    };

    private static void Flatten(JsonNode? node, string prefix, SortedDictionary<string, string> into)
    {
        switch (node)
        {
            case JsonObject obj:
                foreach (var (name, value) in obj)
                {
                    Flatten(value, prefix.Length == 0 ? name : $"{prefix}.{name}", into);
                }

                break;
            case null:
                into[prefix] = "null";
                break;
            default:
                into[prefix] = node.ToJsonString();
                break;
        }
    }

    /// <summary>One changed setting.</summary>
    /// <param name="Name">The dotted name (for example "Loss.EpsilonHigh").</param>
    /// <param name="Saved">The checkpoint's value, as JSON.</param>
    /// <param name="Current">The trainer's value, as JSON.</param>
    /// <param name="BreaksExactness">Whether the resume refuses it unless allowed.</param>
    internal sealed record Change(string Name, string Saved, string Current, bool BreaksExactness)
    {
        public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Name}: {Saved} -> {Current}");
    }
}
