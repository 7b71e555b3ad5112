namespace Vepa.Engines;

/// <summary>Samples rollouts from a vLLM server through its OpenAI-compatible <c>POST /v1/completions</c>: the prompt as token ids, <c>n</c> = G, <c>logprobs: 0</c> and <c>return_token_ids: true</c>, so each completion comes back as token ids with the engine's log-prob of each.</summary>
/// <remarks>
/// <para>Needs vLLM 0.10.2 or later (<c>return_token_ids</c>). Start the server with <c>--logprobs-mode processed_logprobs</c> so the log-probs are those of the sampling distribution (after temperature), as the loss's sampler correction expects; docs/engines.md has the command line.</para>
/// <para>With <see cref="EngineSamplerOptions.WeightSync"/> set, <c>GetService(typeof(IWeightSynchronizer))</c> returns a full-weight synchronizer: vLLM must then serve <c>{SnapshotDirectory}/current</c> with <c>VLLM_SERVER_DEV_MODE=1</c>.</para>
/// <para>One request per prompt, concurrent up to <see cref="EngineSamplerOptions.MaxConcurrency"/>, each with Polly's timeout and retries. A
/// request that fails fails the whole call with an <see cref="EngineRequestException"/> naming the prompt index, the endpoint and the status;
/// so does an answer with the wrong number of completions, missing log-probs or token ids outside the tokenizer's vocabulary.</para>
/// <para>Texts are decoded with <see cref="EngineSamplerOptions.Tokenizer"/> (up to, not including, the stop token, as the in-process sampler
/// does); without one, the engine's own text is used. The batch's tensors are on <see cref="EngineSamplerOptions.Device"/>; its
/// <see cref="RolloutBatch.SamplerLogProbs"/> are float32.</para>
/// <para><c>GetService(typeof(RolloutSamplerMetadata))</c> reports <see cref="RolloutSamplerMetadata.SamplesRemotely"/> = <see langword="true"/>.
/// Thread-safe for concurrent sampling calls.</para>
/// </remarks>
public sealed class VllmRolloutSampler : IRolloutSampler, IDisposable
{
    private readonly EngineSamplerCore _core;

    /// <summary>Initializes a new instance of the <see cref="VllmRolloutSampler"/> class.</summary>
    /// <param name="options">The server and limits (copied and validated).</param>
    /// <param name="httpClient">The client to send requests with (not owned; its own <see cref="HttpClient.Timeout"/> also applies), or <see langword="null"/> for one of the sampler's own.</param>
    /// <param name="timeProvider">The clock of the timeouts and retry delays; <see langword="null"/> uses <see cref="TimeProvider.System"/>.</param>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">An option is invalid; the message lists every problem.</exception>
    public VllmRolloutSampler(EngineSamplerOptions options, HttpClient? httpClient = null, TimeProvider? timeProvider = null)
    {
        _core = new EngineSamplerCore(VllmProtocol.Instance, options, httpClient, timeProvider);
    }

    /// <summary>Gets the weight version the engine serves since the last successful sync through this sampler's synchronizer, or <see langword="null"/> before the first.</summary>
    public long? WeightVersion => _core.WeightVersion;

    /// <inheritdoc />
    /// <exception cref="EngineRequestException">A request failed after its retries, or an answer broke the engine's schema.</exception>
    public Task<RolloutBatch> SampleAsync(IReadOnlyList<PolicyPrompt> prompts, int groupSize, SamplingOptions options, CancellationToken cancellationToken = default)
        => _core.SampleAsync(prompts, groupSize, options, cancellationToken);

    /// <inheritdoc />
    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey is not null)
        {
            return null;
        }

        return serviceType == typeof(RolloutSamplerMetadata) ? _core.Metadata
            : serviceType == typeof(IWeightSynchronizer) ? _core.Synchronizer
            : serviceType.IsInstanceOfType(this) ? this
            : null;
    }

    /// <summary>Releases the HTTP client the sampler created (not one it was given).</summary>
    public void Dispose() => _core.Dispose();
}
