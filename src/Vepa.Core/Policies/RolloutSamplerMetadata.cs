namespace Vepa;

/// <summary>Describes a rollout sampler: who serves it, where, which model, and whether it samples outside the trainer's process.</summary>
/// <remarks>
/// <para>Ask a sampler for it with <c>sampler.GetService(typeof(RolloutSamplerMetadata))</c>, as Microsoft.Extensions.AI's
/// <c>ChatClientMetadata</c> is asked for. A trainer reads <see cref="SamplesRemotely"/> to decide defaults that depend on where rollouts
/// come from, such as turning the loss's sampler correction on for an inference engine whose log-probs differ from the trainer's.</para>
/// <para>Immutable and thread-safe.</para>
/// </remarks>
public sealed class RolloutSamplerMetadata
{
    /// <summary>Initializes a new instance of the <see cref="RolloutSamplerMetadata"/> class.</summary>
    /// <param name="providerName">The name of the sampler's provider (for example <c>vllm</c>, <c>sglang</c>, <c>vepa</c>), or <see langword="null"/>.</param>
    /// <param name="endpoint">The server the sampler calls, or <see langword="null"/> for an in-process sampler.</param>
    /// <param name="modelId">The model the sampler samples from, as the provider names it, or <see langword="null"/>.</param>
    /// <param name="samplesRemotely">Whether the completions are drawn outside the trainer's process by another implementation of the model.</param>
    public RolloutSamplerMetadata(string? providerName = null, Uri? endpoint = null, string? modelId = null, bool samplesRemotely = false)
    {
        ProviderName = providerName;
        Endpoint = endpoint;
        ModelId = modelId;
        SamplesRemotely = samplesRemotely;
    }

    /// <summary>Gets the name of the sampler's provider, or <see langword="null"/>.</summary>
    public string? ProviderName { get; }

    /// <summary>Gets the server the sampler calls, or <see langword="null"/> for an in-process sampler.</summary>
    public Uri? Endpoint { get; }

    /// <summary>Gets the model the sampler samples from, as the provider names it, or <see langword="null"/>.</summary>
    public string? ModelId { get; }

    /// <summary>
    /// Gets a value indicating whether completions are drawn outside the trainer's process (an inference engine), so their
    /// sampler log-probs come from other kernels, possibly other weights, and differ from the trainer's recompute.
    /// </summary>
    /// <value><see langword="false"/> for the built-in in-process sampler; <see langword="true"/> for the engine samplers.</value>
    public bool SamplesRemotely { get; }
}
