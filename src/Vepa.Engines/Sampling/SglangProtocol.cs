using System.Text.Json.Nodes;

namespace Vepa.Engines;

/// <summary>
/// SGLang's native <c>POST /generate</c>: the prompt's ids repeated G times as a batch (<c>input_ids</c> is a list of lists; SGLang's docs
/// prefer repeated prompts to <c>n</c> &gt; 1), one <c>sampling_params</c> object per copy, <c>return_logprob: true</c> with
/// <c>logprob_start_len: -1</c> (output tokens only). Each answer item's <c>meta_info.output_token_logprobs</c> is a list of
/// <c>[logprob, token_id, text|null]</c>; <c>meta_info.finish_reason</c> is <c>{"type": "stop"|"length"|"abort", …}</c>.
/// A seed goes in as <c>sampling_seed</c> (seed + g for copy g); a loaded LoRA adapter as <c>lora_path</c> (its name, once per input).
/// </summary>
internal sealed class SglangProtocol : EngineProtocol
{
    public static readonly SglangProtocol Instance = new();

    public override string ProviderName => "sglang";

    public override string GeneratePath => "generate";

    public override JsonObject BuildRequest(IReadOnlyList<long> promptIds, int groupSize, SamplingOptions options, long? seed, string? model, string? adapter)
    {
        var inputs = new JsonArray();
        var parameters = new JsonArray();
        for (int g = 0; g < groupSize; g++)
        {
            inputs.Add(new JsonArray([.. promptIds.Select(id => (JsonNode)id)]));
            var sampling = new JsonObject
            {
                ["max_new_tokens"] = options.MaxNewTokens,
                ["temperature"] = options.Temperature,
                ["top_p"] = options.TopP,
                ["top_k"] = TopKOrOff(options),
                // SGLang checks stop_token_ids only when ignore_eos is false; it then also stops on the model's own EOS ids, which a
                // completion check refuses unless they are among the options' stop ids (Qwen's GenerationConfig puts them there).
                ["ignore_eos"] = false,
                ["stop_token_ids"] = new JsonArray([.. options.StopTokenIds.Select(id => (JsonNode)id)]),
            };
            AddNeutralProcessors(sampling, "repetition_penalty", "min_p", "frequency_penalty", "presence_penalty");
            if (seed is long value)
            {
                sampling["sampling_seed"] = unchecked(value + g);
            }

            parameters.Add(sampling);
        }

        var body = new JsonObject
        {
            ["input_ids"] = inputs,
            ["sampling_params"] = parameters,
            ["return_logprob"] = true,
            ["logprob_start_len"] = -1,
        };
        if (adapter is not null)
        {
            // SGLang names the loaded LoRA adapter per input in lora_path.
            body["lora_path"] = new JsonArray([.. Enumerable.Repeat(adapter, groupSize).Select(a => (JsonNode)a)]);
        }

        return body;
    }

    public override EngineCompletion[] ParseResponse(JsonNode? response, IReadOnlyList<long> promptIds, int groupSize)
    {
        if (response is not JsonArray items)
        {
            throw new EngineSchemaException($"The body is {Kind(response)}; a batch of {groupSize} inputs gives an array of {groupSize} results.");
        }

        if (items.Count != groupSize)
        {
            throw new EngineSchemaException($"The body has {items.Count} results for a batch of G = {groupSize} inputs.");
        }

        var completions = new EngineCompletion[groupSize];
        for (int g = 0; g < groupSize; g++)
        {
            string at = $"[{g}]";
            if (items[g] is not JsonObject item)
            {
                throw new EngineSchemaException($"{at} is {Kind(items[g])}, not an object.");
            }

            if (item["meta_info"] is not JsonObject meta)
            {
                throw new EngineSchemaException($"{at}.meta_info is missing.");
            }

            string? finish = null;
            if (meta["finish_reason"] is JsonObject reason)
            {
                finish = reason["type"] is JsonValue type && type.TryGetValue(out string? word) ? word : null;
            }
            else if (meta["finish_reason"] is JsonValue plain && plain.TryGetValue(out string? word))
            {
                finish = word;
            }

            if (finish == "abort")
            {
                throw new EngineSchemaException($"{at}.meta_info.finish_reason is \"abort\": the engine aborted the completion (its message is not shown).");
            }

            if (finish is not (null or "stop" or "length"))
            {
                // Only a completion that ended on a stop token or at the length limit is a sample of the policy.
                throw new EngineSchemaException($"{at}.meta_info.finish_reason is \"{finish}\"; only \"stop\" and \"length\" are samples of the policy.");
            }

            if (meta["output_token_logprobs"] is not JsonArray entries)
            {
                throw new EngineSchemaException($"{at}.meta_info.output_token_logprobs is missing: the engine did not return log-probs (return_logprob: true was asked for).");
            }

            var ids = new long[entries.Count];
            var logProbs = new double[entries.Count];
            for (int t = 0; t < entries.Count; t++)
            {
                if (entries[t] is not JsonArray entry || entry.Count < 2)
                {
                    throw new EngineSchemaException($"{at}.meta_info.output_token_logprobs[{t}] is not a [logprob, token_id, …] list.");
                }

                logProbs[t] = ReadLogProb(entry[0], $"{at}.meta_info.output_token_logprobs[{t}][0]");
                ids[t] = ReadLong(entry[1], $"{at}.meta_info.output_token_logprobs[{t}][1]");
            }

            if (item["output_ids"] is JsonArray outputIds && !ReadIds(outputIds, $"{at}.output_ids").AsSpan().SequenceEqual(ids))
            {
                throw new EngineSchemaException($"{at}.output_ids differs from the token ids in {at}.meta_info.output_token_logprobs.");
            }

            string? text = item["text"] is JsonValue tv && tv.TryGetValue(out string? s) ? s : null;
            completions[g] = new EngineCompletion(ids, logProbs, finish, text);
        }

        return completions;
    }
}
