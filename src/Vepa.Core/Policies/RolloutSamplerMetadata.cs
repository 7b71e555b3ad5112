namespace Vepa;

/// <summary>
/// Describes a rollout sampler: who provides it, where it runs, which model it serves, and whether it samples outside the
/// trainer's process (with its own copy of the weights). Samplers return it from
/// <see cref="IRolloutSampler.GetService(Type, object?)"/> for <c>typeof(RolloutSamplerMetadata)</c>, as
/// Microsoft.Extensions.AI's chat clients return <c>ChatClientMetadata</c>.
/// </summary>
/// <remarks>The GRPO trainer reads <see cref="SamplesRemotely"/> to turn on the sampler-mismatch correction by default. Immutable; thread-safe.</remarks>
public class RolloutSamplerMetadata
{
    /// <summary>Initializes a new instance of the <see cref="RolloutSamplerMetadata"/> class.</summary>
    /// <param name="providerName">The name of the sampler's provider ("vllm", "sglang", "torchsharp", …).</param>
    /// <param name="endpoint">The address of the server that samples, when there is one.</param>
    /// <param name="modelId">The id of the model the sampler serves, when known.</param>
    /// <param name="samplesRemotely">Whether the sampler samples outside the trainer's process, from its own copy of the weights.</param>
    public RolloutSamplerMetadata(string providerName, Uri? endpoint = null, string? modelId = null, bool samplesRemotely = false)
    {
        ProviderName = providerName;
        Endpoint = endpoint;
        ModelId = modelId;
        SamplesRemotely = samplesRemotely;
    }

    /// <summary>Gets the name of the sampler's provider.</summary>
    public string ProviderName { get; }

    /// <summary>Gets the address of the server that samples, or <see langword="null"/>.</summary>
    public Uri? Endpoint { get; }

    /// <summary>Gets the id of the model the sampler serves, or <see langword="null"/>.</summary>
    public string? ModelId { get; }

    /// <summary>Gets whether the sampler samples outside the trainer's process, from its own copy of the weights (which an
    /// <see cref="IWeightSynchronizer"/> keeps up to date), so its token probabilities may differ from the trainer's.</summary>
    public bool SamplesRemotely { get; }
}
