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

    /// <summary>Every completion reported as finished by a stop, its last token replaced by one that is no stop token (the model's own EOS, say).</summary>
    StopsOnForeignToken,

    /// <summary>The first completion reported as aborted by the engine.</summary>
    Abort,

    /// <summary>The first completion reported with a finish reason that is no sample of the policy (vLLM's <c>error</c>).</summary>
    FinishError,

    /// <summary>SGLang: a weight reload answered HTTP 200 with <c>success: false</c>.</summary>
    ReloadAnswersFalse,

    /// <summary>A body of the wrong JSON kind: an array for vLLM (an object is expected), an array of numbers for SGLang (objects are expected).</summary>
    WrongJsonKind,
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
/// <item>LoRA adapters: vLLM's <c>/v1/load_lora_adapter</c> and <c>/v1/unload_lora_adapter</c> (plain text on success, the error JSON with
/// 400 or 404 otherwise; requests name the adapter in <c>model</c>, an unknown name is a 404 <c>NotFoundError</c>), SGLang's
/// <c>/load_lora_adapter</c> and <c>/unload_lora_adapter</c> (<c>{"success", "error_message", "loaded_adapters"}</c>; requests name it in
/// <c>lora_path</c>, an unknown name is a 400). A loaded adapter is a <see cref="LoraPolicy"/> over the engine's own copy of the base
/// weights with the PEFT folder loaded into it (<see cref="LoraAdapters.LoadPeft"/>), so requests naming it sample from base + adapter.</item>
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
    private readonly ConcurrentDictionary<string, LoraPolicy> _adapters = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> _adapterPaths = new(StringComparer.Ordinal);
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

    /// <summary>Gets the name the engine serves its base model under (vLLM's <c>--served-model-name</c>).</summary>
    public const string ServedModelName = "tiny-qwen";

    /// <summary>A token id inside the tiny vocabulary that is no stop token (<see cref="EngineFault.StopsOnForeignToken"/>).</summary>
    public const long ForeignToken = 100;

    /// <summary>Gets the names of the LoRA adapters loaded now.</summary>
    public IReadOnlyCollection<string> LoadedAdapters => [.. _adapters.Keys.Order(StringComparer.Ordinal)];

    /// <summary>Gets the adapter each generation request named (<see langword="null"/>: the base model), in arrival order.</summary>
    public ConcurrentQueue<string?> AdapterLog { get; } = new();

    /// <summary>Gets or sets whether <c>/resume</c> answers HTTP 500 (vLLM's error shape) and leaves generation paused, for as long as it is set.</summary>
    public bool ResumeFails { get; set; }

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
        app.MapPost("/v1/load_lora_adapter", context => engine.LoadLoraAdapterAsync(context, vllm: true));
        app.MapPost("/v1/unload_lora_adapter", context => engine.UnloadLoraAdapterAsync(context, vllm: true));
        app.MapPost("/load_lora_adapter", context => engine.LoadLoraAdapterAsync(context, vllm: false));
        app.MapPost("/unload_lora_adapter", context => engine.UnloadLoraAdapterAsync(context, vllm: false));
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
        foreach (var adapter in _adapters.Values)
        {
            adapter.Dispose();
        }

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
        var sampling = Sampling(body, "max_tokens", body["seed"], sglang: false);
        string? model = body["model"]?.GetValue<string>();
        string? adapter = model is null or ServedModelName ? null : model;
        if (adapter is not null && !_adapters.ContainsKey(adapter))
        {
            await VllmErrorAsync(context, 404, $"The model `{adapter}` does not exist.");
            return;
        }

        if (_faults.TryDequeue(out EngineFault fault) && await HandledAsync(context, fault, vllm: true))
        {
            return;
        }

        AdapterLog.Enqueue(adapter);
        using var rows = await SampleAsync(ids, n, sampling, adapter, context.RequestAborted);
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

            if (fault == EngineFault.StopsOnForeignToken)
            {
                tokens[^1] = ForeignToken;
                truncated = false;
            }

            var choice = new JsonObject
            {
                ["index"] = g,
                ["text"] = text,
                ["logprobs"] = wantLogProbs && fault != EngineFault.MissingLogProbs
                    ? new JsonObject { ["token_logprobs"] = new JsonArray([.. logProbs.Select(l => (JsonNode)l)]), ["tokens"] = new JsonArray([.. tokens.Select(t => (JsonNode)("token_id:" + t.ToString(CultureInfo.InvariantCulture)))]) }
                    : null,
                ["finish_reason"] = fault == EngineFault.Abort && g == 0 ? "abort" : fault == EngineFault.FinishError && g == 0 ? "error" : truncated ? "length" : "stop",
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
        string?[] adapters = body["lora_path"] switch
        {
            JsonArray names => [.. names.Select(a => a?.GetValue<string>())],
            JsonValue name => [.. Enumerable.Repeat(name.GetValue<string>(), inputs.Count)],
            _ => new string?[inputs.Count],
        };
        if (adapters.Length != inputs.Count)
        {
            await SglangErrorAsync(context, 400, "lora_path must name one adapter per input.");
            return;
        }

        if (adapters.FirstOrDefault(a => a is not null && !_adapters.ContainsKey(a)) is string unknown)
        {
            await SglangErrorAsync(context, 400, $"The LoRA adapter '{unknown}' is not loaded.");
            return;
        }

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
            var sampling = Sampling(parameters, "max_new_tokens", parameters?["sampling_seed"], sglang: true);
            AdapterLog.Enqueue(adapters[i]);
            using var rows = await SampleAsync(ids, 1, sampling, adapters[i], context.RequestAborted);
            (long[] tokens, double[] logProbs, bool truncated, string text) = Row(rows, 0, sampling);
            if (fault == EngineFault.OutOfVocabulary)
            {
                tokens[0] = 1_000_000;
            }

            if (fault == EngineFault.StopsOnForeignToken)
            {
                tokens[^1] = ForeignToken;
                truncated = false;
            }

            var entries = new JsonArray();
            for (int t = 0; t < tokens.Length; t++)
            {
                entries.Add(new JsonArray(logProbs[t], tokens[t], null));
            }

            var meta = new JsonObject
            {
                ["id"] = Guid.NewGuid().ToString("N"),
                ["finish_reason"] = fault == EngineFault.Abort && i == 0 ? new JsonObject { ["type"] = "abort", ["message"] = "aborted" }
                    : fault == EngineFault.FinishError && i == 0 ? new JsonObject { ["type"] = "error", ["message"] = "failed" }
                    : truncated ? new JsonObject { ["type"] = "length", ["length"] = tokens.Length } : new JsonObject { ["type"] = "stop", ["matched"] = tokens[^1] },
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
        if (_faults.TryDequeue(out EngineFault fault) && fault is EngineFault.ReloadFails or EngineFault.ReloadAnswersFalse)
        {
            await WriteAsync(context, fault == EngineFault.ReloadFails ? 400 : 200, new JsonObject { ["success"] = false, ["message"] = "Failed to update weights: injected fault.", ["num_paused_requests"] = 0 });
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

    private Task Resume(HttpContext context)
    {
        Count(context);
        if (ResumeFails)
        {
            return VllmErrorAsync(context, 500, "injected resume failure");
        }

        _generation.Release();
        context.Response.StatusCode = 200;
        return Task.CompletedTask;
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

    private async Task LoadLoraAdapterAsync(HttpContext context, bool vllm)
    {
        Count(context);
        var body = await ReadAsync(context);
        string? name = body?["lora_name"]?.GetValue<string>();
        string? path = body?["lora_path"]?.GetValue<string>();
        if (_faults.TryDequeue(out EngineFault fault) && fault == EngineFault.ReloadFails)
        {
            await AdapterErrorAsync(context, vllm, 400, $"Failed to load LoRA adapter '{name}': injected fault.");
            return;
        }

        if (name is null || path is null)
        {
            await AdapterErrorAsync(context, vllm, 400, "Both 'lora_name' and 'lora_path' must be provided.");
            return;
        }

        if (_adapters.ContainsKey(name))
        {
            await AdapterErrorAsync(context, vllm, 400, $"The lora adapter '{name}' has already been loaded.");
            return;
        }

        // Load outside the generation lock (like the engines, which load adapters into spare slots while serving).
        LoraPolicy adapter;
        try
        {
            var options = LoraAdapters.ReadPeftOptions(path);
            adapter = new LoraPolicy(QwenPolicy.FromPretrained(LoadedFrom, options: new QwenPolicyOptions { Seed = 1 }), options);
            try
            {
                adapter.Adapters.LoadPeft(path);
            }
            catch
            {
                adapter.Dispose();
                throw;
            }
        }
        catch (SnapshotFormatException e)
        {
            await AdapterErrorAsync(context, vllm, 400, $"Failed to load LoRA adapter '{name}': {e.Message}");
            return;
        }

        _adapters[name] = adapter;
        _adapterPaths[name] = path;
        if (vllm)
        {
            context.Response.StatusCode = 200;
            await context.Response.WriteAsync($"Success: LoRA adapter '{name}' added successfully.");
            return;
        }

        await WriteAsync(context, 200, new JsonObject { ["success"] = true, ["error_message"] = null, ["loaded_adapters"] = LoadedAdapterPaths() });
    }

    private async Task UnloadLoraAdapterAsync(HttpContext context, bool vllm)
    {
        Count(context);
        var body = await ReadAsync(context);
        string? name = body?["lora_name"]?.GetValue<string>();
        if (name is null || !_adapters.ContainsKey(name))
        {
            await AdapterErrorAsync(context, vllm, vllm ? 404 : 400, $"The lora adapter '{name}' cannot be found.");
            return;
        }

        // Requests already sampling with it finish first.
        await _generation.WaitAsync(context.RequestAborted);
        try
        {
            _adapters.TryRemove(name, out LoraPolicy? adapter);
            _adapterPaths.TryRemove(name, out _);
            adapter?.Dispose();
        }
        finally
        {
            _generation.Release();
        }

        if (vllm)
        {
            context.Response.StatusCode = 200;
            await context.Response.WriteAsync($"Success: LoRA adapter '{name}' removed successfully.");
            return;
        }

        await WriteAsync(context, 200, new JsonObject { ["success"] = true, ["error_message"] = null, ["loaded_adapters"] = LoadedAdapterPaths() });
    }

    private JsonObject LoadedAdapterPaths() => new([.. _adapterPaths.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => KeyValuePair.Create(p.Key, (JsonNode?)p.Value))]);

    private static Task AdapterErrorAsync(HttpContext context, bool vllm, int status, string message) =>
        vllm ? VllmErrorAsync(context, status, message)
            : WriteAsync(context, status, new JsonObject { ["success"] = false, ["error_message"] = message, ["loaded_adapters"] = new JsonObject() });

    private async Task<RolloutBatch> SampleAsync(long[] promptIds, int n, SamplingOptions sampling, string? adapter, CancellationToken cancellationToken)
    {
        await _generation.WaitAsync(cancellationToken);
        try
        {
            var prompt = new PolicyPrompt("q", "a", promptIds);
            IRolloutSampler sampler = adapter is null ? _model.Sampler : _adapters[adapter].Sampler;
            return await sampler.SampleAsync([prompt], n, sampling, cancellationToken);
        }
        finally
        {
            _generation.Release();
        }
    }

    private SamplingOptions Sampling(JsonNode? parameters, string maxTokens, JsonNode? seed, bool sglang)
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
        // vLLM honours stop_token_ids whatever ignore_eos says; SGLang checks every stop only when ignore_eos is false, and then also
        // stops on the model's own EOS ids.
        sampling.StopTokenIds = ignoreEos ? (sglang ? [] : stops) : [.. stops.Union(sampling.StopTokenIds)];
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
            case EngineFault.WrongJsonKind:
                await WriteAsync(context, 200, vllm ? new JsonArray() : new JsonArray(1, 2, 3));
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
        WriteAsync(context, status, new JsonObject { ["error"] = new JsonObject { ["message"] = message, ["type"] = status >= 500 ? "InternalServerError" : status == 404 ? "NotFoundError" : "BadRequestError", ["param"] = null, ["code"] = status } });

    private static Task SglangErrorAsync(HttpContext context, int status, string message) =>
        WriteAsync(context, status, new JsonObject { ["error"] = new JsonObject { ["message"] = message } });

    private static async Task WriteAsync(HttpContext context, int status, JsonNode body)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(body.ToJsonString(new JsonSerializerOptions()));
    }
}
