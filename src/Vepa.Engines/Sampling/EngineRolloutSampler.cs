namespace Vepa.Engines;

/// <summary>
/// What <see cref="VllmRolloutSampler"/> and <see cref="SglangRolloutSampler"/> share: one request per prompt for its group of G
/// completions, concurrent up to <see cref="EngineSamplerOptions.MaxConcurrency"/>, each with Polly's timeout and retries, and the
/// engine's token ids and per-token log-probs turned into a <see cref="RolloutBatch"/>.
/// </summary>
/// <remarks>
/// <para>A request that fails fails the whole call with an <see cref="EngineRequestException"/> naming the prompt index, the endpoint and
/// the status; so does an answer with the wrong number of completions, missing log-probs or token ids outside the tokenizer's vocabulary.</para>
/// <para>Texts are decoded with <see cref="EngineSamplerOptions.Tokenizer"/> (up to, not including, the stop token, as the in-process sampler
/// does); without one, the engine's own text is used. A row is truncated when it has no stop token. The batch's tensors are on
/// <see cref="EngineSamplerOptions.Device"/>; its <see cref="RolloutBatch.SamplerLogProbs"/> are float32.</para>
/// <para><c>GetService(typeof(RolloutSamplerMetadata))</c> reports <see cref="RolloutSamplerMetadata.SamplesRemotely"/> = <see langword="true"/>;
/// with <see cref="EngineSamplerOptions.WeightSync"/> set, <c>GetService(typeof(IWeightSynchronizer))</c> returns the full-weight
/// synchronizer, with <see cref="EngineSamplerOptions.LoraSync"/> set the LoRA adapter synchronizer. Thread-safe for concurrent sampling calls.</para>
/// </remarks>
public abstract class EngineRolloutSampler : IRolloutSampler, IDisposable
{
    private readonly EngineSamplerCore _core;

    private protected EngineRolloutSampler(EngineProtocol protocol, EngineSamplerOptions options, HttpClient? httpClient, TimeProvider? timeProvider)
    {
        _core = new EngineSamplerCore(protocol, options, httpClient, timeProvider);
    }

    /// <summary>Gets the weight version the engine serves since the last successful sync through this sampler's synchronizer, or <see langword="null"/> before the first.</summary>
    public long? WeightVersion => _core.WeightVersion;

    /// <summary>Gets the LoRA adapter the sampler's requests name, the one <see cref="EngineSamplerOptions.LoraSync"/> had the engine load last (for example <c>vepa-v000000000003</c>), or <see langword="null"/> for the base model (before the first LoRA sync, or with full-weight sync).</summary>
    public string? AdapterName => _core.AdapterName;

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
    public void Dispose()
    {
        Dispose(disposing: true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases the sampler's resources.</summary>
    /// <param name="disposing"><see langword="true"/> when called from <see cref="Dispose()"/>.</param>
    protected virtual void Dispose(bool disposing)
    {
        if (disposing)
        {
            _core.Dispose();
        }
    }
}
