using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Polly;
using Polly.RateLimiting;
using Polly.Retry;
using Polly.Timeout;

namespace Vepa.Engines;

/// <summary>
/// JSON POSTs to one engine through a Polly pipeline: a concurrency limit (outermost), retries with exponential backoff and jitter for
/// transient failures, and a timeout per attempt (innermost). Every failure leaves as an <see cref="EngineRequestException"/> that names
/// the endpoint, the prompt index and the status, and never quotes the response body (it may echo the prompt or credentials).
/// </summary>
/// <remarks>Thread-safe.</remarks>
internal sealed class EngineHttp : IDisposable
{
    private readonly HttpClient _http;
    private readonly bool _ownsHttp;
    private readonly Uri _baseAddress;
    private readonly string? _apiKey;
    private readonly TimeSpan _timeout;
    private readonly int _maxAttempts;
    private readonly ResiliencePipeline _pipeline;

    public EngineHttp(Uri baseAddress, string? apiKey, HttpClient? httpClient, int maxConcurrency, TimeSpan timeout, int maxRetries, TimeSpan retryBaseDelay, TimeProvider timeProvider)
    {
        // A base address without a trailing slash would lose its last segment when a relative path is appended.
        _baseAddress = baseAddress.AbsoluteUri.EndsWith('/') ? baseAddress : new Uri(baseAddress.AbsoluteUri + "/");
        _apiKey = apiKey;
        _timeout = timeout;
        _maxAttempts = maxRetries + 1;

        // The pipeline owns the time limits: a client of our own never adds HttpClient's 100 s default on top.
        _ownsHttp = httpClient is null;
        _http = httpClient ?? new HttpClient { Timeout = System.Threading.Timeout.InfiniteTimeSpan };

        var builder = new ResiliencePipelineBuilder { TimeProvider = timeProvider }
            .AddConcurrencyLimiter(maxConcurrency, queueLimit: int.MaxValue);
        if (maxRetries > 0)
        {
            builder.AddRetry(new RetryStrategyOptions
            {
                MaxRetryAttempts = maxRetries,
                BackoffType = DelayBackoffType.Exponential,
                Delay = retryBaseDelay,
                MaxDelay = TimeSpan.FromSeconds(30) > retryBaseDelay ? TimeSpan.FromSeconds(30) : retryBaseDelay,
                UseJitter = true,
                ShouldHandle = static args => ValueTask.FromResult(IsTransient(args.Outcome.Exception) || IsClientTimeout(args.Outcome.Exception, args.Context.CancellationToken)),
            });
        }

        // The generator form accepts the whole [1 ms, 1 day] range (the static Timeout option starts at 10 ms).
        _pipeline = builder.AddTimeout(new TimeoutStrategyOptions { TimeoutGenerator = _ => ValueTask.FromResult(timeout) }).Build();
    }

    /// <summary>Gets the engine's base address (with a trailing slash).</summary>
    public Uri BaseAddress => _baseAddress;

    /// <summary>Posts <paramref name="body"/> (or nothing) to <paramref name="path"/> and parses the JSON answer.</summary>
    /// <param name="path">The path relative to the base address, with any query.</param>
    /// <param name="body">The JSON body, or <see langword="null"/> to post an empty body.</param>
    /// <param name="promptIndex">The prompt the request samples for, or <see langword="null"/>.</param>
    /// <param name="what">What the request does, for messages ("sampling", "reloading weights").</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <param name="plainTextAnswer"><see langword="true"/> when a successful answer is plain text (vLLM's adapter endpoints): it is not parsed and <see langword="null"/> is returned.</param>
    /// <returns>The parsed body; <see langword="null"/> for an empty body or a plain-text answer.</returns>
    /// <exception cref="EngineRequestException">The request failed after its retries, the status was not a success, or the body is not JSON.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<JsonNode?> PostAsync(string path, JsonNode? body, int? promptIndex, string what, CancellationToken cancellationToken, bool plainTextAnswer = false)
    {
        var endpoint = new Uri(_baseAddress, path);
        string? json = body?.ToJsonString();
        var state = new Attempts();
        try
        {
            return await _pipeline.ExecuteAsync(
                async token =>
                {
                    state.Count++;
                    return await SendOnceAsync(endpoint, json, promptIndex, what, plainTextAnswer, token).ConfigureAwait(false);
                },
                cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested && e is not EngineRequestException && (IsTransient(e) || IsClientTimeout(e, cancellationToken)))
        {
            string tries = state.Count == 1 ? "1 attempt" : string.Create(CultureInfo.InvariantCulture, $"{state.Count} attempts");
            (string cause, int? status) = e switch
            {
                TransientStatusException s => (string.Create(CultureInfo.InvariantCulture, $"HTTP {s.StatusCode} ({(HttpStatusCode)s.StatusCode})"), (int?)s.StatusCode),
                TimeoutRejectedException => ($"no answer within {_timeout}", null),
                HttpRequestException h => ($"the connection failed ({h.HttpRequestError})", (int?)h.StatusCode),
                OperationCanceledException => ($"no answer within the HttpClient's own Timeout ({_http.Timeout})", null),
                _ => (e.GetType().Name, null),
            };
            throw new EngineRequestException(
                $"{Describe(what, promptIndex)} at {endpoint} failed after {tries}: {cause}. The response body is not shown (it may echo the request); see the engine's log.",
                endpoint,
                promptIndex,
                status,
                e);
        }
        catch (Exception e) when (cancellationToken.IsCancellationRequested && e is not OperationCanceledException && e is not EngineRequestException && IsTransient(e))
        {
            // The caller cancelled while the request was failing (the sampler cancels its other groups when one fails): this request was
            // cancelled, and its own transient failure never stands in for the failure that cancelled it.
            throw new OperationCanceledException($"{Describe(what, promptIndex)} at {endpoint} was cancelled.", e, cancellationToken);
        }
    }

    public void Dispose()
    {
        if (_ownsHttp)
        {
            _http.Dispose();
        }
    }

    /// <summary>Names a request in messages: "Sampling prompt 3", "Reloading weights".</summary>
    public static string Describe(string what, int? promptIndex) =>
        promptIndex is int index
            ? string.Create(CultureInfo.InvariantCulture, $"{char.ToUpperInvariant(what[0])}{what[1..]} for prompt {index}")
            : $"{char.ToUpperInvariant(what[0])}{what[1..]}";

    private static bool IsTransient(Exception? exception) =>
        exception is TransientStatusException or TimeoutRejectedException or HttpRequestException;

    /// <summary>A cancellation nobody asked for: a host's <see cref="HttpClient"/> gave up after its own <see cref="HttpClient.Timeout"/>.</summary>
    private static bool IsClientTimeout(Exception? exception, CancellationToken cancellationToken) =>
        exception is OperationCanceledException && !cancellationToken.IsCancellationRequested;

    private async ValueTask<JsonNode?> SendOnceAsync(Uri endpoint, string? json, int? promptIndex, string what, bool plainTextAnswer, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, endpoint);
        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        }

        if (_apiKey is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _apiKey);
        }

        using HttpResponseMessage response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        int status = (int)response.StatusCode;
        if (!response.IsSuccessStatusCode)
        {
            // 408 and 429 and 5xx may pass (an overloaded or restarting engine); any other status is the request's own fault.
            if (status is 408 or 429 || status >= 500)
            {
                throw new TransientStatusException(status);
            }

            throw new EngineRequestException(
                string.Create(CultureInfo.InvariantCulture, $"{Describe(what, promptIndex)} at {endpoint} was refused with HTTP {status} ({response.StatusCode}). The response body is not shown (it may echo the request); see the engine's log."),
                endpoint,
                promptIndex,
                status);
        }

        string text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        if (plainTextAnswer || string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        try
        {
            return JsonNode.Parse(text);
        }
        catch (JsonException e)
        {
            throw new EngineRequestException(
                string.Create(CultureInfo.InvariantCulture, $"{Describe(what, promptIndex)} at {endpoint} answered HTTP {status} with a body that is not valid JSON ({text.Length} characters; not shown)."),
                endpoint,
                promptIndex,
                status,
                e);
        }
    }

    /// <summary>An HTTP status worth a retry; turned into an <see cref="EngineRequestException"/> when retries run out.</summary>
    private sealed class TransientStatusException(int statusCode) : Exception($"HTTP {statusCode}")
    {
        public int StatusCode { get; } = statusCode;
    }

    private sealed class Attempts
    {
        public int Count { get; set; }
    }
}
