using System.ClientModel;
using System.ClientModel.Primitives;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenAI;

namespace Vepa.Rewards.Tests.Http;

/// <summary>
/// A real HTTP server on 127.0.0.1 (Kestrel, random port) that speaks the OpenAI chat-completions protocol
/// (<c>POST /v1/chat/completions</c>, non-streaming JSON), answers each request as a script says, records what it received
/// and tracks how many requests are in flight at once.
/// </summary>
/// <remarks>Shared by the reader tests and, linked as source, by the reward-scoring benchmark.</remarks>
internal sealed class LoopbackChatServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly Func<ReceivedChatRequest, ScriptedReply> _script;
    private readonly List<ReceivedChatRequest> _requests = [];
    private readonly Lock _requestsLock = new();
    private int _arrivals;
    private int _inFlight;
    private int _maxInFlight;

    private LoopbackChatServer(WebApplication app, Func<ReceivedChatRequest, ScriptedReply> script)
    {
        _app = app;
        _script = script;
    }

    /// <summary>Gets the server's address, <c>http://127.0.0.1:{port}</c>.</summary>
    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>Gets the endpoint to give an OpenAI client: <see cref="BaseAddress"/> + <c>/v1</c>.</summary>
    public Uri OpenAIEndpoint => new(BaseAddress, "/v1");

    /// <summary>Gets the requests received so far, in arrival order.</summary>
    public IReadOnlyList<ReceivedChatRequest> Requests
    {
        get
        {
            lock (_requestsLock)
            {
                return [.. _requests.OrderBy(r => r.Index)];
            }
        }
    }

    /// <summary>Gets the number of requests received so far.</summary>
    public int RequestCount => Volatile.Read(ref _arrivals);

    /// <summary>Gets the number of requests being handled now.</summary>
    public int InFlight => Volatile.Read(ref _inFlight);

    /// <summary>Gets the largest number of requests handled at once since the start (or the last <see cref="ResetStatistics"/>).</summary>
    public int MaxInFlight => Volatile.Read(ref _maxInFlight);

    /// <summary>Starts a server.</summary>
    /// <param name="script">Decides the reply to each request; called concurrently.</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    /// <returns>The running server; dispose it to stop it.</returns>
    public static async Task<LoopbackChatServer> StartAsync(Func<ReceivedChatRequest, ScriptedReply> script, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(script);
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        WebApplication app = builder.Build();
        var server = new LoopbackChatServer(app, script);
        app.MapPost("/v1/chat/completions", server.HandleAsync);
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        server.BaseAddress = new Uri(address);
        return server;
    }

    /// <summary>Starts a server that gives every request the same reply.</summary>
    /// <param name="reply">The reply.</param>
    /// <returns>The running server.</returns>
    public static Task<LoopbackChatServer> StartAsync(ScriptedReply reply) => StartAsync(_ => reply);

    /// <summary>Creates an <see cref="IChatClient"/> for this server through the real OpenAI client, with its retries turned off.</summary>
    /// <param name="apiKey">The API key the client sends.</param>
    /// <param name="networkTimeout">The client's network timeout; 100 s when <see langword="null"/>.</param>
    /// <param name="model">The model name.</param>
    /// <returns>The chat client.</returns>
    public IChatClient CreateChatClient(string apiKey = "sk-loopback-test", TimeSpan? networkTimeout = null, string model = "reader")
    {
        var options = new OpenAIClientOptions
        {
            Endpoint = OpenAIEndpoint,
            RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
            NetworkTimeout = networkTimeout ?? TimeSpan.FromSeconds(100),
        };
        return new OpenAIClient(new ApiKeyCredential(apiKey), options).GetChatClient(model).AsIChatClient();
    }

    /// <summary>Forgets the requests and the in-flight maximum recorded so far.</summary>
    public void ResetStatistics()
    {
        lock (_requestsLock)
        {
            _requests.Clear();
        }

        Volatile.Write(ref _maxInFlight, Volatile.Read(ref _inFlight));
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }

    private async Task HandleAsync(HttpContext context)
    {
        int inFlight = Interlocked.Increment(ref _inFlight);
        try
        {
            int observed;
            while (inFlight > (observed = Volatile.Read(ref _maxInFlight))
                   && Interlocked.CompareExchange(ref _maxInFlight, inFlight, observed) != observed)
            {
            }

            int index = Interlocked.Increment(ref _arrivals) - 1;
            ReceivedChatRequest request = await ReadRequestAsync(context, index).ConfigureAwait(false);
            lock (_requestsLock)
            {
                _requests.Add(request);
            }

            ScriptedReply reply = _script(request);
            if (reply.Delay > TimeSpan.Zero)
            {
                await Task.Delay(reply.Delay, context.RequestAborted).ConfigureAwait(false);
            }

            if (reply.DropConnection)
            {
                context.Abort();
                return;
            }

            await WriteReplyAsync(context, request, reply).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client gave up (its timeout); nothing to answer.
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }

    private static async Task<ReceivedChatRequest> ReadRequestAsync(HttpContext context, int index)
    {
        using JsonDocument body = await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted).ConfigureAwait(false);
        JsonElement root = body.RootElement;
        var messages = new List<ReceivedChatMessage>();
        if (root.TryGetProperty("messages", out JsonElement messageArray))
        {
            foreach (JsonElement message in messageArray.EnumerateArray())
            {
                string role = message.GetProperty("role").GetString() ?? string.Empty;
                messages.Add(new ReceivedChatMessage(role, ReadContent(message)));
            }
        }

        return new ReceivedChatRequest(
            index,
            root.TryGetProperty("model", out JsonElement model) ? model.GetString() : null,
            root.TryGetProperty("temperature", out JsonElement temperature) && temperature.ValueKind == JsonValueKind.Number ? temperature.GetDouble() : null,
            ReadMaxTokens(root),
            messages,
            context.Request.Headers.Authorization.ToString(),
            root.TryGetProperty("response_format", out JsonElement format) ? format.GetRawText() : null);
    }

    private static string ReadContent(JsonElement message)
    {
        if (!message.TryGetProperty("content", out JsonElement content))
        {
            return string.Empty;
        }

        return content.ValueKind switch
        {
            JsonValueKind.String => content.GetString() ?? string.Empty,
            JsonValueKind.Array => string.Concat(content.EnumerateArray()
                .Where(part => part.TryGetProperty("text", out _))
                .Select(part => part.GetProperty("text").GetString())),
            _ => string.Empty,
        };
    }

    private static int? ReadMaxTokens(JsonElement root)
    {
        foreach (string name in new[] { "max_completion_tokens", "max_tokens" })
        {
            if (root.TryGetProperty(name, out JsonElement value) && value.ValueKind == JsonValueKind.Number)
            {
                return value.GetInt32();
            }
        }

        return null;
    }

    private static async Task WriteReplyAsync(HttpContext context, ReceivedChatRequest request, ScriptedReply reply)
    {
        context.Response.StatusCode = reply.StatusCode;
        context.Response.ContentType = "application/json";
        if (reply.StatusCode != 200 && reply.ErrorBody is { } raw)
        {
            byte[] bytes = System.Text.Encoding.UTF8.GetBytes(raw);
            context.Response.ContentLength = bytes.Length;
            await context.Response.Body.WriteAsync(bytes, context.RequestAborted).ConfigureAwait(false);
            return;
        }

        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            if (reply.StatusCode == 200)
            {
                int promptTokens = request.Messages.Sum(m => m.Content.Length) / 4;
                int completionTokens = Math.Max(1, reply.Content.Length / 4);
                json.WriteString("id", $"chatcmpl-{request.Index}");
                json.WriteString("object", "chat.completion");
                json.WriteNumber("created", 1_700_000_000);
                json.WriteString("model", request.Model ?? "reader");
                json.WriteStartArray("choices");
                json.WriteStartObject();
                json.WriteNumber("index", 0);
                json.WriteStartObject("message");
                json.WriteString("role", "assistant");
                json.WriteString("content", reply.Content);
                json.WriteEndObject();
                json.WriteString("finish_reason", reply.FinishReason);
                json.WriteEndObject();
                json.WriteEndArray();
                json.WriteStartObject("usage");
                json.WriteNumber("prompt_tokens", promptTokens);
                json.WriteNumber("completion_tokens", completionTokens);
                json.WriteNumber("total_tokens", promptTokens + completionTokens);
                json.WriteEndObject();
            }
            else
            {
                json.WriteStartObject("error");
                json.WriteString("message", reply.ErrorMessage);
                json.WriteString("type", reply.StatusCode >= 500 ? "server_error" : "invalid_request_error");
                json.WriteNull("code");
                json.WriteEndObject();
            }

            json.WriteEndObject();
        }

        context.Response.ContentLength = buffer.Length;
        await context.Response.Body.WriteAsync(buffer.GetBuffer().AsMemory(0, (int)buffer.Length), context.RequestAborted).ConfigureAwait(false);
    }
}
