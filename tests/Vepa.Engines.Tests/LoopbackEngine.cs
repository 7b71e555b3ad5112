using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Vepa.Models;

namespace Vepa.Engines.Tests;

/// <summary>A fault the loopback engine injects into the next matching request.</summary>
public enum EngineFault
{
    /// <summary>HTTP 500 with the engine's error shape.</summary>
    ServerError,

    /// <summary>HTTP 400 with the engine's error shape.</summary>
    BadRequest,

    /// <summary>No answer until the client gives up.</summary>
    Hang,

    /// <summary>One completion fewer than asked for.</summary>
    MissingChoice,

    /// <summary>A body cut in the middle of its JSON.</summary>
    MalformedJson,

    /// <summary>The log-probs left out.</summary>
    MissingLogProbs,

    /// <summary>A token id far outside the vocabulary.</summary>
    OutOfVocabulary,

    /// <summary>A weight reload answered with <c>success: false</c> (SGLang) or HTTP 500 (vLLM).</summary>
    ReloadFails,
}

/// <summary>
/// A real HTTP inference engine on 127.0.0.1 (Kestrel, random port) that speaks vLLM's and SGLang's documented schemas, samples from a real
/// TorchSharp Qwen2 model through the library itself (<see cref="QwenPolicy"/> and its sampler, so the log-probs are real), and reloads its
/// weights from disk when told to, so a stale-weights bug shows up as a sampler-vs-trainer KL.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item>vLLM: <c>POST /v1/completions</c> (token-id prompt, <c>n</c>, <c>logprobs</c>, <c>return_token_ids</c>, <c>stop_token_ids</c>,
/// <c>ignore_eos</c>, <c>seed</c>); errors as <c>{"error": {"message", "type", "param", "code"}}</c>. Development endpoints
/// <c>/pause</c>, <c>/resume</c>, <c>/collective_rpc</c> (<c>reload_weights</c>: reload from the path it serves), <c>/reset_prefix_cache</c>.</item>
/// <item>SGLang: <c>POST /generate</c> (<c>input_ids</c> list of lists, one <c>sampling_params</c> per input, <c>return_logprob</c>);
/// errors as <c>{"error": {"message"}}</c>; <c>POST /update_weights_from_disk</c> answering <c>{"success", "message", "num_paused_requests"}</c>.</item>
/// </list>
/// Generation is serialized (one model); <c>/pause</c> waits for it and holds it until <c>/resume</c>.
/// </remarks>
internal sealed class LoopbackEngine : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly QwenPolicy _model;
    private readonly string _servedPath;
    private readonly SemaphoreSlim _generation = new(1, 1);
    private readonly ConcurrentQueue<EngineFault> _faults = new();
    private readonly ConcurrentDictionary<string, int> _calls = new();
    private bool _stopped;
    private JsonNode? _lastBody;

    private LoopbackEngine(WebApplication app, QwenPolicy model, string servedPath)
    {
        _app = app;
        _model = model;
        _servedPath = servedPath;
    }

    /// <summary>Gets the server's address, <c>http://127.0.0.1:{port}/</c>.</summary>
    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>Gets the folder whose weights were loaded last (the served path at start).</summary>
    public string LoadedFrom { get; private set; } = string.Empty;

    /// <summary>Gets the weight version SGLang was told last, or <see langword="null"/>.</summary>
    public string? WeightVersion { get; private set; }

    /// <summary>Gets the model the engine samples from (read it only between requests).</summary>
    public QwenPolicy Model => _model;

    /// <summary>Starts an engine that serves the snapshot at <paramref name="servedPath"/> (a folder or a symbolic link to one).</summary>
    public static async Task<LoopbackEngine> StartAsync(string servedPath)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        WebApplication app = builder.Build();
        var engine = new LoopbackEngine(app, QwenPolicy.FromPretrained(servedPath, options: new QwenPolicyOptions { Seed = 1 }), servedPath) { LoadedFrom = servedPath };
        app.MapPost("/v1/completions", engine.CompletionsAsync);
        app.MapPost("/generate", engine.GenerateAsync);
        app.MapPost("/update_weights_from_disk", engine.UpdateWeightsFromDiskAsync);
        app.MapPost("/pause", engine.PauseAsync);
        app.MapPost("/resume", engine.Resume);
        app.MapPost("/collective_rpc", engine.CollectiveRpcAsync);
        app.MapPost("/reset_prefix_cache", engine.ResetPrefixCache);
        await app.StartAsync().ConfigureAwait(false);
        string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        engine.BaseAddress = new Uri(address + "/");
        return engine;
    }

    /// <summary>Makes the next request (of any generation or reload endpoint) fail with <paramref name="fault"/>.</summary>
    public void Inject(EngineFault fault, int times = 1)
    {
        for (int i = 0; i < times; i++)
        {
            _faults.Enqueue(fault);
        }
    }

    /// <summary>Gets the body of the last generation request (a copy).</summary>
    public JsonNode? LastBody => _lastBody?.DeepClone();

    /// <summary>Gets how many requests an endpoint received, such as <c>"/generate"</c>.</summary>
    public int Calls(string path) => _calls.GetValueOrDefault(path);

    /// <summary>Stops the server (the engine "goes down"); later requests are refused at the connection.</summary>
    public async Task StopAsync()
    {
        if (!_stopped)
        {
            _stopped = true;
            await _app.StopAsync().ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
        _model.Dispose();
        _generation.Dispose();
    }

    private async Task CompletionsAsync(HttpContext context)
    {
        Count(context);
        var body = await ReadAsync(context);
        _lastBody = body;
        if (body?["prompt"] is not JsonArray prompt || prompt.Count == 0 || prompt.Any(p => p is not JsonValue v || !v.TryGetValue(out long _)))
        {
            await VllmErrorAsync(context, 400, "This loopback engine takes 'prompt' as a list of token ids.");
            return;
        }

        int n = body["n"]?.GetValue<int>() ?? 1;
        bool wantLogProbs = body["logprobs"] is JsonValue;
        bool wantIds = body["return_token_ids"]?.GetValue<bool>() ?? false;
        var ids = prompt.Select(p => p!.GetValue<long>()).ToArray();
        var sampling = Sampling(body, "max_tokens", body["seed"]);
        if (_faults.TryDequeue(out EngineFault fault) && await HandledAsync(context, fault, vllm: true))
        {
            return;
        }

        using var rows = await SampleAsync(ids, n, sampling, context.RequestAborted);
        var choices = new JsonArray();
        for (int g = 0; g < n; g++)
        {
            if (fault == EngineFault.MissingChoice && g == n - 1)
            {
                break;
            }

            (long[] tokens, double[] logProbs, bool truncated, string text) = Row(rows, g, sampling);
            if (fault == EngineFault.OutOfVocabulary)
            {
                tokens[0] = 1_000_000;
            }

            var choice = new JsonObject
            {
                ["index"] = g,
                ["text"] = text,
                ["logprobs"] = wantLogProbs && fault != EngineFault.MissingLogProbs
                    ? new JsonObject { ["token_logprobs"] = new JsonArray([.. logProbs.Select(l => (JsonNode)l)]), ["tokens"] = new JsonArray([.. tokens.Select(t => (JsonNode)("token_id:" + t.ToString(CultureInfo.InvariantCulture)))]) }
                    : null,
                ["finish_reason"] = truncated ? "length" : "stop",
                ["stop_reason"] = truncated ? null : tokens[^1],
            };
            if (wantIds)
            {
                choice["token_ids"] = new JsonArray([.. tokens.Select(t => (JsonNode)t)]);
                choice["prompt_token_ids"] = new JsonArray([.. ids.Select(t => (JsonNode)t)]);
            }

            // vLLM returns the choices of n > 1 in completion order, not index order: reverse them to prove the client sorts by index.
            choices.Insert(0, choice);
        }

        await WriteAsync(context, 200, new JsonObject { ["id"] = "cmpl-loopback", ["object"] = "text_completion", ["model"] = body["model"]?.GetValue<string>() ?? _servedPath, ["choices"] = choices });
    }

    private async Task GenerateAsync(HttpContext context)
    {
        Count(context);
        var body = await ReadAsync(context);
        _lastBody = body;
        if (body?["input_ids"] is not JsonArray inputs || inputs.Count == 0 || inputs[0] is not JsonArray)
        {
            await SglangErrorAsync(context, 400, "This loopback engine takes 'input_ids' as a list of lists of token ids.");
            return;
        }

        bool wantLogProbs = body["return_logprob"]?.GetValue<bool>() ?? false;
        if (_faults.TryDequeue(out EngineFault fault) && await HandledAsync(context, fault, vllm: false))
        {
            return;
        }

        var results = new JsonArray();
        for (int i = 0; i < inputs.Count; i++)
        {
            if (fault == EngineFault.MissingChoice && i == inputs.Count - 1)
            {
                break;
            }

            var parameters = body["sampling_params"] is JsonArray list ? list[i] : body["sampling_params"];
            var ids = inputs[i]!.AsArray().Select(p => p!.GetValue<long>()).ToArray();
            var sampling = Sampling(parameters, "max_new_tokens", parameters?["sampling_seed"]);
            using var rows = await SampleAsync(ids, 1, sampling, context.RequestAborted);
            (long[] tokens, double[] logProbs, bool truncated, string text) = Row(rows, 0, sampling);
            if (fault == EngineFault.OutOfVocabulary)
            {
                tokens[0] = 1_000_000;
            }

            var entries = new JsonArray();
            for (int t = 0; t < tokens.Length; t++)
            {
                entries.Add(new JsonArray(logProbs[t], tokens[t], null));
            }

            var meta = new JsonObject
            {
                ["id"] = Guid.NewGuid().ToString("N"),
                ["finish_reason"] = truncated ? new JsonObject { ["type"] = "length", ["length"] = tokens.Length } : new JsonObject { ["type"] = "stop", ["matched"] = tokens[^1] },
                ["prompt_tokens"] = ids.Length,
                ["completion_tokens"] = tokens.Length,
                ["weight_version"] = WeightVersion ?? "default",
            };
            if (wantLogProbs && fault != EngineFault.MissingLogProbs)
            {
                meta["output_token_logprobs"] = entries;
            }

            results.Add(new JsonObject { ["text"] = text, ["output_ids"] = new JsonArray([.. tokens.Select(t => (JsonNode)t)]), ["meta_info"] = meta });
        }

        await WriteAsync(context, 200, results);
    }

    private async Task UpdateWeightsFromDiskAsync(HttpContext context)
    {
        Count(context);
        var body = await ReadAsync(context);
        string? path = body?["model_path"]?.GetValue<string>();
        if (_faults.TryDequeue(out EngineFault fault) && fault == EngineFault.ReloadFails)
        {
            await WriteAsync(context, 400, new JsonObject { ["success"] = false, ["message"] = "Failed to update weights: injected fault.", ["num_paused_requests"] = 0 });
            return;
        }

        if (path is null)
        {
            await WriteAsync(context, 400, new JsonObject { ["success"] = false, ["message"] = "model_path is required.", ["num_paused_requests"] = 0 });
            return;
        }

        // SGLang pauses generation while it loads: take the generation lock.
        await _generation.WaitAsync(context.RequestAborted);
        try
        {
            Reload(path);
            WeightVersion = body?["weight_version"]?.GetValue<string>();
        }
        catch (SnapshotFormatException e)
        {
            await WriteAsync(context, 400, new JsonObject { ["success"] = false, ["message"] = e.Message, ["num_paused_requests"] = 0 });
            return;
        }
        finally
        {
            _generation.Release();
        }

        await WriteAsync(context, 200, new JsonObject { ["success"] = true, ["message"] = "Succeeded to update model weights.", ["num_paused_requests"] = 0 });
    }

    private async Task PauseAsync(HttpContext context)
    {
        Count(context);
        await _generation.WaitAsync(context.RequestAborted); // mode=wait: in-flight requests finish first; new ones wait for /resume
        context.Response.StatusCode = 200;
    }

    private void Resume(HttpContext context)
    {
        Count(context);
        _generation.Release();
        context.Response.StatusCode = 200;
    }

    private async Task CollectiveRpcAsync(HttpContext context)
    {
        Count(context);
        var body = await ReadAsync(context);
        if (body?["method"]?.GetValue<string>() != "reload_weights")
        {
            await VllmErrorAsync(context, 400, "Only reload_weights is served by this loopback engine.");
            return;
        }

        if (_faults.TryDequeue(out EngineFault fault) && fault == EngineFault.ReloadFails)
        {
            await VllmErrorAsync(context, 500, "injected reload failure");
            return;
        }

        // vLLM reloads from the path it was started with (here a symbolic link the trainer re-points); the caller has paused generation.
        Reload(_servedPath);
        await WriteAsync(context, 200, new JsonObject { ["results"] = new JsonArray((JsonNode?)null) });
    }

    private void ResetPrefixCache(HttpContext context)
    {
        Count(context);
        context.Response.StatusCode = 200;
    }

    private void Reload(string path)
    {
        ((QwenForCausalLM)_model.Model).LoadWeights(path);
        LoadedFrom = Path.GetFullPath(path);
    }

    private async Task<RolloutBatch> SampleAsync(long[] promptIds, int n, SamplingOptions sampling, CancellationToken cancellationToken)
    {
        await _generation.WaitAsync(cancellationToken);
        try
        {
            var prompt = new PolicyPrompt("q", "a", promptIds);
            return await _model.Sampler.SampleAsync([prompt], n, sampling, cancellationToken);
        }
        finally
        {
            _generation.Release();
        }
    }

    private SamplingOptions Sampling(JsonNode? parameters, string maxTokens, JsonNode? seed)
    {
        var sampling = _model.CreateSamplingOptions();
        sampling.Temperature = parameters?["temperature"]?.GetValue<double>() ?? 1.0;
        sampling.TopP = parameters?["top_p"]?.GetValue<double>() ?? 1.0;
        int topK = parameters?["top_k"]?.GetValue<int>() ?? -1;
        sampling.TopK = topK > 0 ? topK : null;
        sampling.MaxNewTokens = parameters?[maxTokens]?.GetValue<int>() ?? 16;
        sampling.Seed = seed?.GetValue<long>();
        bool ignoreEos = parameters?["ignore_eos"]?.GetValue<bool>() ?? false;
        var stops = parameters?["stop_token_ids"] is JsonArray s ? s.Select(x => x!.GetValue<long>()).ToList() : [];
        sampling.StopTokenIds = ignoreEos ? stops : [.. stops.Union(sampling.StopTokenIds)];
        return sampling;
    }

    /// <summary>Row g of a sampled batch: its tokens up to and including the stop token, their log-probs, truncation, text.</summary>
    private (long[] Tokens, double[] LogProbs, bool Truncated, string Text) Row(RolloutBatch rows, int g, SamplingOptions sampling)
    {
        using var scope = TorchSharp.torch.NewDisposeScope();
        int length = rows.CompletionLengths[g];
        long[] tokens = rows.CompletionIds[g].narrow(0, 0, length).data<long>().ToArray();
        double[] logProbs = rows.SamplerLogProbs![g].narrow(0, 0, length).to(TorchSharp.torch.ScalarType.Float64).data<double>().ToArray();
        return (tokens, logProbs, rows.Truncated[g], rows.Texts[g]);
    }

    private async Task<bool> HandledAsync(HttpContext context, EngineFault fault, bool vllm)
    {
        switch (fault)
        {
            case EngineFault.ServerError:
                await (vllm ? VllmErrorAsync(context, 500, "injected server error") : SglangErrorAsync(context, 500, "injected server error"));
                return true;
            case EngineFault.BadRequest:
                await (vllm ? VllmErrorAsync(context, 400, "injected bad request: the prompt says the secret is 12345") : SglangErrorAsync(context, 400, "injected bad request: the prompt says the secret is 12345"));
                return true;
            case EngineFault.Hang:
                await Task.Delay(Timeout.Infinite, context.RequestAborted).ContinueWith(_ => { }, TaskScheduler.Default);
                return true;
            case EngineFault.MalformedJson:
                context.Response.StatusCode = 200;
                context.Response.ContentType = "application/json";
                await context.Response.WriteAsync("{\"choices\": [{\"index\": 0, \"text\": \"cut");
                return true;
            default:
                return false;
        }
    }

    private void Count(HttpContext context) => _calls.AddOrUpdate(context.Request.Path.Value ?? string.Empty, 1, (_, c) => c + 1);

    private static async Task<JsonNode?> ReadAsync(HttpContext context)
    {
        using var reader = new StreamReader(context.Request.Body);
        string text = await reader.ReadToEndAsync();
        return string.IsNullOrWhiteSpace(text) ? null : JsonNode.Parse(text);
    }

    private static Task VllmErrorAsync(HttpContext context, int status, string message) =>
        WriteAsync(context, status, new JsonObject { ["error"] = new JsonObject { ["message"] = message, ["type"] = status >= 500 ? "InternalServerError" : "BadRequestError", ["param"] = null, ["code"] = status } });

    private static Task SglangErrorAsync(HttpContext context, int status, string message) =>
        WriteAsync(context, status, new JsonObject { ["error"] = new JsonObject { ["message"] = message } });

    private static async Task WriteAsync(HttpContext context, int status, JsonNode body)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(body.ToJsonString(new JsonSerializerOptions()));
    }
}
