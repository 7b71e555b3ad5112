using System.Text.Json.Nodes;

namespace Vepa.Engines;

/// <summary>One engine's request and response schema for sampling a group of G completions of one prompt.</summary>
internal abstract class EngineProtocol
{
    /// <summary>Gets the provider name reported in <see cref="RolloutSamplerMetadata.ProviderName"/>.</summary>
    public abstract string ProviderName { get; }

    /// <summary>Gets the path of the generation endpoint, relative to the base address.</summary>
    public abstract string GeneratePath { get; }

    /// <summary>Builds the request body for one prompt's group.</summary>
    /// <param name="promptIds">The prompt's token ids.</param>
    /// <param name="groupSize">G.</param>
    /// <param name="options">The sampling settings (validated).</param>
    /// <param name="seed">The group's seed (completion g uses seed + g), or <see langword="null"/>.</param>
    /// <param name="model">The model name, or <see langword="null"/>.</param>
    /// <param name="adapter">The LoRA adapter the engine loaded to sample with, or <see langword="null"/> for the base model.</param>
    /// <returns>The JSON body.</returns>
    public abstract JsonObject BuildRequest(IReadOnlyList<long> promptIds, int groupSize, SamplingOptions options, long? seed, string? model, string? adapter);

    /// <summary>Reads the G completions from a response body.</summary>
    /// <param name="response">The parsed body.</param>
    /// <param name="promptIds">The prompt's token ids (to check an echoed copy).</param>
    /// <param name="groupSize">G.</param>
    /// <returns>The completions in order g = 0 … G−1.</returns>
    /// <exception cref="EngineSchemaException">The body breaks the schema; the message says where.</exception>
    public abstract EngineCompletion[] ParseResponse(JsonNode? response, IReadOnlyList<long> promptIds, int groupSize);

    /// <summary>The top-k value an engine reads as "off" when the options have none.</summary>
    protected static int TopKOrOff(SamplingOptions options) => options.TopK is int k && k > 0 ? k : -1;

    /// <summary>
    /// Sets the named logit processors to their neutral values (1 for <c>repetition_penalty</c>, 0 for the others). An engine fills a
    /// field the request leaves out from the model's <c>generation_config.json</c> (Qwen2.5-Instruct sets a repetition penalty), and the
    /// trainer's log-probs know no such processor: the rollouts would come from another distribution than the one trained.
    /// </summary>
    protected static void AddNeutralProcessors(JsonObject parameters, params string[] names)
    {
        foreach (string name in names)
        {
            parameters[name] = name == "repetition_penalty" ? 1.0 : 0.0;
        }
    }

    /// <summary>Reads an array of integers, naming the field in errors.</summary>
    protected static long[] ReadIds(JsonNode? node, string field)
    {
        if (node is not JsonArray array)
        {
            throw new EngineSchemaException($"{field} is missing or not an array.");
        }

        var ids = new long[array.Count];
        for (int i = 0; i < ids.Length; i++)
        {
            ids[i] = ReadLong(array[i], $"{field}[{i}]");
        }

        return ids;
    }

    /// <summary>Reads an integer, naming the field in errors.</summary>
    protected static long ReadLong(JsonNode? node, string field)
    {
        if (node is JsonValue value && value.TryGetValue(out long id))
        {
            return id;
        }

        if (node is JsonValue number && number.TryGetValue(out double real) && real == Math.Floor(real) && Math.Abs(real) < 9e15)
        {
            return (long)real;
        }

        throw new EngineSchemaException($"{field} is not an integer (got {Kind(node)}).");
    }

    /// <summary>Reads a finite log-prob ≤ 0 (a small positive rounding is allowed), naming the field in errors.</summary>
    protected static double ReadLogProb(JsonNode? node, string field)
    {
        if (node is JsonValue value && value.TryGetValue(out double logProb))
        {
            if (double.IsNaN(logProb) || double.IsPositiveInfinity(logProb) || logProb > 1e-3)
            {
                throw new EngineSchemaException($"{field} is {logProb}, not a log-probability (finite or -inf, at most 0).");
            }

            return logProb;
        }

        throw new EngineSchemaException($"{field} is missing or not a number (got {Kind(node)}): the engine did not return the sampled tokens' log-probs.");
    }

    /// <summary>Names a JSON node's kind for messages (never its content).</summary>
    protected static string Kind(JsonNode? node) => node switch
    {
        null => "null",
        JsonArray => "an array",
        JsonObject => "an object",
        JsonValue v => v.GetValueKind().ToString().ToLowerInvariant(),
        _ => "an unknown node",
    };
}

/// <summary>One completion as an engine returned it.</summary>
/// <param name="TokenIds">The completion's token ids.</param>
/// <param name="LogProbs">The sampler's log-prob of each token.</param>
/// <param name="FinishReason">The engine's finish reason, normalised to <c>stop</c>, <c>length</c> or the engine's own word.</param>
/// <param name="Text">The engine's decoded text, or <see langword="null"/>.</param>
internal sealed record EngineCompletion(long[] TokenIds, double[] LogProbs, string? FinishReason, string? Text);

/// <summary>A response body that breaks the engine's documented schema; wrapped into an <see cref="EngineRequestException"/> with the endpoint and prompt.</summary>
internal sealed class EngineSchemaException(string message) : Exception(message);
