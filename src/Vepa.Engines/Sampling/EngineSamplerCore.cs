using System.Globalization;
using TorchSharp;
using static TorchSharp.torch;

namespace Vepa.Engines;

/// <summary>
/// What the vLLM and SGLang samplers share: argument checks, one request per prompt (all in flight together up to the concurrency
/// limit; the first failure cancels the rest and fails the call), the checks on what came back, and the rollout batch.
/// </summary>
/// <remarks>Thread-safe: concurrent sampling calls share only the HTTP pipeline.</remarks>
internal sealed class EngineSamplerCore : IDisposable
{
    private readonly EngineProtocol _protocol;
    private readonly EngineSamplerOptions _options;
    private readonly EngineHttp _http;
    private ServedWeights _served = new(-1, null);

    public EngineSamplerCore(EngineProtocol protocol, EngineSamplerOptions options, HttpClient? httpClient, TimeProvider? timeProvider)
    {
        ArgumentNullException.ThrowIfNull(options);
        options = options.Clone();
        options.Validate();
        _protocol = protocol;
        _options = options;
        timeProvider ??= TimeProvider.System;
        _http = new EngineHttp(options.BaseAddress!, options.ApiKey, httpClient, options.MaxConcurrency, options.RequestTimeout, options.MaxRetries, options.RetryBaseDelay, timeProvider);
        Metadata = new RolloutSamplerMetadata(protocol.ProviderName, _http.BaseAddress, options.Model, samplesRemotely: true);
        if (options.WeightSync is { } sync)
        {
            // The sync calls get their own pipeline: one attempt (a reload is not idempotent mid-way), the sync's own time limit.
            var control = new EngineHttp(options.BaseAddress!, options.ApiKey, httpClient, 1, sync.Timeout, 0, TimeSpan.Zero, timeProvider);
            Synchronizer = new FullWeightSynchronizer(sync, control, protocol is VllmProtocol ? EngineKind.Vllm : EngineKind.Sglang, version => Volatile.Write(ref _served, new ServedWeights(version, null)));
        }
        else if (options.LoraSync is { } lora)
        {
            var control = new EngineHttp(options.BaseAddress!, options.ApiKey, httpClient, 1, lora.Timeout, 0, TimeSpan.Zero, timeProvider);
            Synchronizer = new LoraAdapterSynchronizer(lora, control, protocol is VllmProtocol ? EngineKind.Vllm : EngineKind.Sglang, (version, adapter) => Volatile.Write(ref _served, new ServedWeights(version, adapter)));
        }
    }

    public RolloutSamplerMetadata Metadata { get; }

    public IWeightSynchronizer? Synchronizer { get; }

    public long? WeightVersion => Volatile.Read(ref _served).Version is long v and >= 0 ? v : null;

    /// <summary>Gets the LoRA adapter the sampler's requests name (the version loaded last), or <see langword="null"/> for the base model.</summary>
    public string? AdapterName => Volatile.Read(ref _served).Adapter;

    public async Task<RolloutBatch> SampleAsync(IReadOnlyList<PolicyPrompt> prompts, int groupSize, SamplingOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(groupSize, 1);
        if (prompts.Count == 0)
        {
            throw new ArgumentException("At least one prompt is needed; got 0.", nameof(prompts));
        }

        options.Validate();
        int? vocabulary = _options.Tokenizer?.VocabularySize;
        CheckPrompts(prompts, vocabulary);
        CheckIds(options, vocabulary);
        cancellationToken.ThrowIfCancellationRequested();
        // One read, so the version the batch is tagged with and the adapter its requests name always belong together.
        ServedWeights served = Volatile.Read(ref _served);
        long version = served.Version >= 0 ? served.Version : 0;

        // Every group in flight at once (the pipeline's limiter queues them); the first failure cancels the others.
        using var failFast = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var tasks = new Task<EngineCompletion[]>[prompts.Count];
        for (int p = 0; p < prompts.Count; p++)
        {
            long? seed = options.Seed is long s ? unchecked(s + ((long)p * groupSize)) : null;
            tasks[p] = SampleGroupAsync(prompts[p], p, groupSize, options, seed, served.Adapter, failFast);
        }

        try
        {
            await Task.WhenAll(tasks).ConfigureAwait(false);
        }
        catch when (!cancellationToken.IsCancellationRequested)
        {
            // Report the failure that started it (with its own stack trace), not a group cancelled because of it.
            Exception? first = tasks.Select(t => t.Exception?.InnerException).FirstOrDefault(e => e is not null and not OperationCanceledException);
            if (first is not null)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(first);
            }

            throw;
        }

        return Assemble(prompts, groupSize, options, tasks.Select(t => t.Result).ToArray(), version);
    }

    public void Dispose()
    {
        _http.Dispose();
        (Synchronizer as IDisposable)?.Dispose();
    }

    private async Task<EngineCompletion[]> SampleGroupAsync(PolicyPrompt prompt, int index, int groupSize, SamplingOptions options, long? seed, string? adapter, CancellationTokenSource failFast)
    {
        try
        {
            var body = _protocol.BuildRequest(prompt.PromptTokenIds, groupSize, options, seed, _options.Model, adapter);
            var response = await _http.PostAsync(_protocol.GeneratePath, body, index, "sampling", failFast.Token).ConfigureAwait(false);
            EngineCompletion[] group;
            try
            {
                group = _protocol.ParseResponse(response, prompt.PromptTokenIds, groupSize);
            }
            catch (EngineSchemaException e)
            {
                throw Fail(index, e.Message, e);
            }

            Check(group, index, options);
            return group;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            await failFast.CancelAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>The completions' ids are in the vocabulary, none is longer than asked, and none continues past a stop token.</summary>
    private void Check(EngineCompletion[] group, int index, SamplingOptions options)
    {
        int? vocabulary = _options.Tokenizer?.VocabularySize;
        var stops = options.StopTokenIds.ToHashSet();
        for (int g = 0; g < group.Length; g++)
        {
            long[] ids = group[g].TokenIds;
            if (ids.Length > options.MaxNewTokens)
            {
                throw Fail(index, string.Create(CultureInfo.InvariantCulture, $"completion {g} has {ids.Length} tokens; at most MaxNewTokens = {options.MaxNewTokens} were asked for."));
            }

            for (int t = 0; t < ids.Length; t++)
            {
                if (ids[t] < 0 || (vocabulary is int v && ids[t] >= v))
                {
                    throw Fail(index, string.Create(CultureInfo.InvariantCulture, $"completion {g} holds token id {ids[t]} at position {t}, outside the tokenizer's vocabulary [0, {vocabulary?.ToString(CultureInfo.InvariantCulture) ?? "∞"}): the engine serves another vocabulary."));
                }

                if (stops.Contains(ids[t]) && t < ids.Length - 1)
                {
                    throw Fail(index, string.Create(CultureInfo.InvariantCulture, $"completion {g} continues for {ids.Length - 1 - t} tokens after stop token {ids[t]} at position {t}."));
                }
            }

            if (group[g].FinishReason == "stop" && (ids.Length == 0 || !stops.Contains(ids[^1])))
            {
                // The engine stopped on a token the trainer does not count as a stop (the model's own EOS, say): the row would be
                // trained as truncated, and the text would keep the token.
                string last = ids.Length == 0 ? "no token" : "token " + ids[^1].ToString(CultureInfo.InvariantCulture);
                throw Fail(index, $"completion {g} finished with reason \"stop\" at {last}, which is not in SamplingOptions.StopTokenIds; add the model's EOS ids to StopTokenIds (GenerationConfig.ToSamplingOptions does).");
            }

            if (_options.Tokenizer is null && group[g].Text is null)
            {
                throw Fail(index, string.Create(CultureInfo.InvariantCulture, $"completion {g} has no text, and EngineSamplerOptions.Tokenizer is not set to decode it."));
            }
        }
    }

    private EngineRequestException Fail(int index, string problem, Exception? inner = null)
    {
        var endpoint = new Uri(_http.BaseAddress, _protocol.GeneratePath);
        return new EngineRequestException($"Sampling for prompt {index.ToString(CultureInfo.InvariantCulture)} at {endpoint}: {problem}", endpoint, index, 200, inner);
    }

    private RolloutBatch Assemble(IReadOnlyList<PolicyPrompt> prompts, int groupSize, SamplingOptions options, EngineCompletion[][] groups, long version)
    {
        int rows = prompts.Count * groupSize;
        int length = Math.Max(1, groups.Max(g => g.Max(c => c.TokenIds.Length)));
        var ids = new long[rows * length];
        var mask = new bool[rows * length];
        var logProbs = new float[rows * length];
        var truncated = new bool[rows];
        var texts = new string[rows];
        var stops = options.StopTokenIds.ToHashSet();
        Array.Fill(ids, options.PadTokenId);
        for (int r = 0; r < rows; r++)
        {
            EngineCompletion completion = groups[r / groupSize][r % groupSize];
            long[] tokens = completion.TokenIds;
            int end = Array.FindIndex(tokens, stops.Contains);

            // The in-process sampler's rule: truncated means no stop token; the text stops before the stop token.
            truncated[r] = end < 0;
            texts[r] = _options.Tokenizer is { } tokenizer ? tokenizer.Decode(tokens.AsSpan(0, end >= 0 ? end : tokens.Length)) : completion.Text!;
            for (int t = 0; t < tokens.Length; t++)
            {
                ids[(r * length) + t] = tokens[t];
                mask[(r * length) + t] = true;
                logProbs[(r * length) + t] = (float)completion.LogProbs[t];
            }
        }

        var device = _options.Device ?? CPU;
        using var scope = NewDisposeScope();
        return new RolloutBatch(
            prompts,
            groupSize,
            tensor(ids, [rows, length], ScalarType.Int64).to(device),
            tensor(mask, [rows, length]).to(device),
            truncated,
            texts,
            tensor(logProbs, [rows, length], ScalarType.Float32).to(device))
        {
            // The weights the engine served for this call: the last synced version, or the initial weights (0) before any sync.
            WeightVersion = version,
        };
    }

    private static void CheckPrompts(IReadOnlyList<PolicyPrompt> prompts, int? vocabulary)
    {
        for (int p = 0; p < prompts.Count; p++)
        {
            PolicyPrompt? prompt = prompts[p] ?? throw new ArgumentException($"prompts[{p}] is null.", nameof(prompts));
            if (prompt.Inputs is not null || prompt.ModelInputs is not null)
            {
                throw new ArgumentException($"prompts[{p}] carries a model-input tensor (an image or prefix embeddings); the engine samplers send token ids only.", nameof(prompts));
            }

            if (prompt.PromptTokenIds.Count == 0)
            {
                throw new ArgumentException($"prompts[{p}] has no token ids; the engine needs at least one.", nameof(prompts));
            }

            if (vocabulary is int v && prompt.PromptTokenIds.FirstOrDefault(id => id >= v, -1) is long bad and >= 0)
            {
                throw new ArgumentException($"prompts[{p}] holds token id {bad}, outside the tokenizer's vocabulary [0, {v}).", nameof(prompts));
            }
        }
    }

    private static void CheckIds(SamplingOptions options, int? vocabulary)
    {
        if (vocabulary is int v && (options.PadTokenId >= v || options.StopTokenIds.Any(id => id >= v)))
        {
            throw new ArgumentException($"The sampling options' stop ids [{string.Join(", ", options.StopTokenIds)}] and pad id {options.PadTokenId} must be inside the tokenizer's vocabulary [0, {v}).", nameof(options));
        }
    }
}

/// <summary>What the engine serves: the weight version (−1 before any sync) and the LoRA adapter to name in requests (<see langword="null"/>: the base model).</summary>
internal sealed record ServedWeights(long Version, string? Adapter);
