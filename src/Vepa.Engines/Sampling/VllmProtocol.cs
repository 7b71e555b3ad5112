using System.Text.Json.Nodes;

namespace Vepa.Engines;

/// <summary>
/// vLLM's OpenAI-compatible <c>POST /v1/completions</c> with a token-id prompt: <c>n</c> = G, <c>logprobs: 0</c> (the sampled token's
/// log-prob only, in <c>choices[i].logprobs.token_logprobs</c>) and <c>return_token_ids: true</c> (vLLM ≥ 0.10.2; each choice carries
/// <c>token_ids</c> and <c>prompt_token_ids</c>). <c>ignore_eos</c> with <c>stop_token_ids</c> makes the options' stop ids the only stops.
/// With a seed, vLLM seeds choice i with seed + i. With a LoRA adapter loaded, <c>model</c> is the adapter's name.
/// </summary>
internal sealed class VllmProtocol : EngineProtocol
{
    public static readonly VllmProtocol Instance = new();

    public override string ProviderName => "vllm";

    public override string GeneratePath => "v1/completions";

    public override JsonObject BuildRequest(IReadOnlyList<long> promptIds, int groupSize, SamplingOptions options, long? seed, string? model, string? adapter)
    {
        // vLLM serves a loaded LoRA adapter under its own model name.
        var body = new JsonObject();
        if ((adapter ?? model) is string name)
        {
            body["model"] = name;
        }

        body["prompt"] = new JsonArray([.. promptIds.Select(id => (JsonNode)id)]);
        body["n"] = groupSize;
        body["max_tokens"] = options.MaxNewTokens;
        body["temperature"] = options.Temperature;
        body["top_p"] = options.TopP;
        body["top_k"] = TopKOrOff(options);
        body["logprobs"] = 0;
        body["return_token_ids"] = true;
        body["ignore_eos"] = true;
        body["stop_token_ids"] = new JsonArray([.. options.StopTokenIds.Select(id => (JsonNode)id)]);
        AddNeutralProcessors(body, "repetition_penalty", "min_p", "frequency_penalty", "presence_penalty");
        if (seed is long value)
        {
            body["seed"] = value;
        }

        return body;
    }

    public override EngineCompletion[] ParseResponse(JsonNode? response, IReadOnlyList<long> promptIds, int groupSize)
    {
        if ((response as JsonObject)?["choices"] is not JsonArray choices)
        {
            throw new EngineSchemaException($"The body has no \"choices\" array (got {Kind(response is JsonObject o ? o["choices"] : response)}).");
        }

        if (choices.Count != groupSize)
        {
            throw new EngineSchemaException($"The body has {choices.Count} choices; n = G = {groupSize} were asked for.");
        }

        var completions = new EngineCompletion[groupSize];
        for (int c = 0; c < choices.Count; c++)
        {
            string at = $"choices[{c}]";
            if (choices[c] is not JsonObject choice)
            {
                throw new EngineSchemaException($"{at} is not an object.");
            }

            long index = choice["index"] is null ? c : ReadLong(choice["index"], $"{at}.index");
            if (index < 0 || index >= groupSize || completions[index] is not null)
            {
                throw new EngineSchemaException($"{at}.index is {index}: choice indices must be 0 … {groupSize - 1}, each once.");
            }

            if (choice["token_ids"] is null)
            {
                throw new EngineSchemaException($"{at}.token_ids is missing: the server ignored return_token_ids (it needs vLLM 0.10.2 or later).");
            }

            long[] ids = ReadIds(choice["token_ids"], $"{at}.token_ids");
            if (choice["prompt_token_ids"] is JsonArray echoed && !ReadIds(echoed, $"{at}.prompt_token_ids").AsSpan().SequenceEqual(promptIds.ToArray()))
            {
                throw new EngineSchemaException($"{at}.prompt_token_ids differs from the prompt sent ({promptIds.Count} ids): the engine did not sample from the given ids.");
            }

            if ((choice["logprobs"] as JsonObject)?["token_logprobs"] is not JsonArray logProbs)
            {
                throw new EngineSchemaException($"{at}.logprobs.token_logprobs is missing: the engine did not return log-probs (logprobs: 0 was asked for).");
            }

            if (logProbs.Count != ids.Length)
            {
                throw new EngineSchemaException($"{at}.logprobs.token_logprobs has {logProbs.Count} entries for {ids.Length} token ids.");
            }

            var values = new double[ids.Length];
            for (int t = 0; t < values.Length; t++)
            {
                values[t] = ReadLogProb(logProbs[t], $"{at}.logprobs.token_logprobs[{t}]");
            }

            string? finish = choice["finish_reason"] is JsonValue f && f.TryGetValue(out string? reason) ? reason : null;
            if (finish == "abort")
            {
                // A completion cut off by the engine (a pause in abort mode, a cancelled request) is not a sample of the policy.
                throw new EngineSchemaException($"{at}.finish_reason is \"abort\": the engine aborted the completion.");
            }

            if (finish is not (null or "stop" or "length"))
            {
                // vLLM also reports "error" (a failed request) and "repetition" (its repetition detector): not samples of the policy.
                throw new EngineSchemaException($"{at}.finish_reason is \"{finish}\"; only \"stop\" and \"length\" are samples of the policy.");
            }

            string? text = choice["text"] is JsonValue tv && tv.TryGetValue(out string? s) ? s : null;
            completions[index] = new EngineCompletion(ids, values, finish, text);
        }

        return completions;
    }
}
