using System.ComponentModel.DataAnnotations;

namespace Vepa.Engines;

/// <summary>Configures an engine sampler (<see cref="VllmRolloutSampler"/>, <see cref="SglangRolloutSampler"/>): the server, the tokenizer that decodes completions, and the request limits.</summary>
/// <remarks>
/// <para>Each prompt is one HTTP request for its whole group of G completions. Requests run concurrently up to
/// <see cref="MaxConcurrency"/>; each attempt is bounded by <see cref="RequestTimeout"/>; a transient failure (connection refused or
/// reset, HTTP 408, 429 or 5xx, an attempt timeout) is retried up to <see cref="MaxRetries"/> times with exponential backoff. A
/// request that still fails, or any other failure (HTTP 4xx, malformed JSON, a wrong number of completions, missing log-probs, a token
/// id outside the vocabulary), fails the whole sampling call with an <see cref="EngineRequestException"/>: no group is dropped.</para>
/// <para>Validated by <see cref="Validate"/> (the samplers call it), which lists every problem at once. The sampler copies the values
/// when it is built; changing the options afterwards has no effect on it. Not thread-safe to mutate.</para>
/// </remarks>
public sealed class EngineSamplerOptions : IValidatableObject
{
    /// <summary>Gets or sets the engine's base address, for example <c>http://10.0.0.2:8000/</c> (the samplers append <c>v1/completions</c> or <c>generate</c>).</summary>
    /// <value>The default is <see langword="null"/>; required, absolute http or https.</value>
    [Required(ErrorMessage = "{0} is required (the engine's http:// or https:// address)")]
    public Uri? BaseAddress { get; set; }

    /// <summary>Gets or sets the model name sent with each request (vLLM's <c>--served-model-name</c>, by default the path it serves); <see langword="null"/> sends none.</summary>
    /// <value>The default is <see langword="null"/>. SGLang's <c>/generate</c> ignores it.</value>
    public string? Model { get; set; }

    /// <summary>Gets or sets the policy's tokenizer: it decodes each completion's tokens (up to, not including, the stop token) to the text the reward reads, and its vocabulary bounds the token ids the engine may return.</summary>
    /// <value>The default is <see langword="null"/>: the engine's own text is used and token ids are only checked to be non-negative. Set it so the texts match the in-process sampler's exactly.</value>
    public ITokenizer? Tokenizer { get; set; }

    /// <summary>Gets or sets a bearer token sent as <c>Authorization: Bearer …</c> (vLLM's <c>--api-key</c>, SGLang's <c>--api-key</c>); <see langword="null"/> sends none.</summary>
    /// <value>The default is <see langword="null"/>. It is never written into an exception message.</value>
    public string? ApiKey { get; set; }

    /// <summary>Gets or sets how many requests (one per prompt) may be in flight at once; more wait in a queue.</summary>
    /// <value>The default is 16. Must be in [1, 4096].</value>
    [Range(1, 4096, ErrorMessage = "{0} must be in [1, 4096]")]
    public int MaxConcurrency { get; set; } = 16;

    /// <summary>Gets or sets the time limit of one attempt of one request (generation of its whole group included).</summary>
    /// <value>The default is 10 minutes. Must be in [1 ms, 1 day].</value>
    [Range(typeof(TimeSpan), "00:00:00.001", "1.00:00:00", ErrorMessage = "{0} must be in [1 ms, 1 day]")]
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Gets or sets how many times a request that failed transiently is sent again; 0 disables retrying.</summary>
    /// <value>The default is 2. Must be in [0, 100].</value>
    [Range(0, 100, ErrorMessage = "{0} must be in [0, 100]")]
    public int MaxRetries { get; set; } = 2;

    /// <summary>Gets or sets the delay before the first retry; later retries double it (with jitter), up to 30 seconds.</summary>
    /// <value>The default is 1 second. Must be in [0, 10 min].</value>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00", ErrorMessage = "{0} must be in [0, 10 min]")]
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Gets or sets the device the rollout batch's tensors are created on (the policy's device, so the trainer reads them without a copy).</summary>
    /// <value>The default is <see langword="null"/>: the CPU.</value>
    public TorchSharp.torch.Device? Device { get; set; }

    /// <summary>Gets or sets the full-weight sync the sampler offers through <c>GetService(typeof(IWeightSynchronizer))</c>; <see langword="null"/> offers none.</summary>
    /// <value>The default is <see langword="null"/>.</value>
    public FullWeightSyncOptions? WeightSync { get; set; }

    /// <summary>Gets or sets the LoRA adapter sync the sampler offers through <c>GetService(typeof(IWeightSynchronizer))</c>, for a policy trained through LoRA adapters (<c>LoraPolicy</c>): only the adapters travel, and the sampler's requests name the adapter version the engine loaded last. <see langword="null"/> offers none.</summary>
    /// <value>The default is <see langword="null"/>. At most one of <see cref="WeightSync"/> and <see cref="LoraSync"/> may be set.</value>
    public LoraSyncOptions? LoraSync { get; set; }

    /// <summary>Checks every setting (and <see cref="WeightSync"/>'s and <see cref="LoraSync"/>'s).</summary>
    /// <exception cref="ArgumentException">One or more settings are invalid; the message lists all of them.</exception>
    public void Validate() => OptionsValidation.ThrowIfInvalid(this);

    /// <summary>Returns a copy of these options (the tokenizer and the weight-sync delegate are shared, not copied).</summary>
    /// <returns>A new instance with the same settings.</returns>
    public EngineSamplerOptions Clone()
    {
        var copy = (EngineSamplerOptions)MemberwiseClone();
        copy.WeightSync = WeightSync?.Clone();
        copy.LoraSync = LoraSync?.Clone();
        return copy;
    }

    /// <summary>The rules no attribute states: the base address is an absolute http or https address, and at most one weight sync is set.</summary>
    /// <param name="validationContext">The validation context (unused).</param>
    /// <returns>The problems found.</returns>
    IEnumerable<ValidationResult> IValidatableObject.Validate(ValidationContext validationContext)
    {
        if (BaseAddress is { } address && (!address.IsAbsoluteUri || (address.Scheme != Uri.UriSchemeHttp && address.Scheme != Uri.UriSchemeHttps)))
        {
            yield return new ValidationResult($"BaseAddress must be an absolute http:// or https:// address; got \"{address}\".", [nameof(BaseAddress)]);
        }
        else if (BaseAddress is { UserInfo.Length: > 0 })
        {
            // The endpoint is named in every error message and in the sampler's metadata: credentials there would leak. Not quoted here either.
            yield return new ValidationResult("BaseAddress must not carry credentials (user:password@); set ApiKey instead.", [nameof(BaseAddress)]);
        }

        if (WeightSync is not null && LoraSync is not null)
        {
            yield return new ValidationResult("WeightSync and LoraSync are both set; choose one (full weights, or LoRA adapters only).", [nameof(LoraSync)]);
        }
    }
}
