using System.ComponentModel.DataAnnotations;

namespace Vepa;

/// <summary>How a sampler draws completions: temperature, nucleus (top-p) and top-k filtering, length and stop tokens, seed.</summary>
/// <remarks>
/// <para>Filters apply in the order temperature, top-k, top-p, as in Hugging Face <c>generate</c> and vLLM. A completion ends
/// after the first token in <see cref="StopTokenIds"/> (that token is part of the completion and of its mask); a completion that
/// reaches <see cref="MaxNewTokens"/> without one is <em>truncated</em>.</para>
/// <para>Call <see cref="Validate"/> (samplers do) to get one <see cref="ArgumentException"/> listing every problem. Instances are
/// not thread-safe to mutate; one instance may be shared by concurrent calls that do not change it.</para>
/// </remarks>
public sealed class SamplingOptions : IValidatableObject
{
    /// <summary>Gets or sets the sampling temperature τ; logits are divided by it. 0 means greedy decoding (argmax).</summary>
    /// <value>The default is 1. Must be finite and ≥ 0.</value>
    [Range(0.0, double.MaxValue, ErrorMessage = "{0} must be finite and >= 0 (0 = greedy)")]
    public double Temperature { get; set; } = 1.0;

    /// <summary>Gets or sets the nucleus threshold: only the smallest set of most likely tokens whose probability sums to at least p is kept. 1 disables it.</summary>
    /// <value>The default is 1. Must be in (0, 1].</value>
    [Range(0.0, 1.0, MinimumIsExclusive = true, ErrorMessage = "{0} must be in (0, 1]")]
    public double TopP { get; set; } = 1.0;

    /// <summary>Gets or sets k: only the k most likely tokens are kept. <see langword="null"/> (or 0) disables it.</summary>
    /// <value>The default is <see langword="null"/>. When set, must be ≥ 0.</value>
    [Range(0, int.MaxValue, ErrorMessage = "{0} must be >= 0 (0 or null disables it)")]
    public int? TopK { get; set; }

    /// <summary>Gets or sets the maximum number of completion tokens; a completion that reaches it without a stop token is truncated.</summary>
    /// <value>The default is 128. Must be ≥ 1.</value>
    [Range(1, int.MaxValue, ErrorMessage = "{0} must be >= 1")]
    public int MaxNewTokens { get; set; } = 128;

    /// <summary>Gets or sets the token ids that end a completion (EOS and any other stop tokens). Empty: completions always run to <see cref="MaxNewTokens"/>.</summary>
    /// <value>The default is empty.</value>
    [Required(ErrorMessage = "{0} must not be null (use an empty list for none)")]
    public IList<long> StopTokenIds { get; set; } = [];

    /// <summary>Gets or sets the id written after a completion's end (its mask is 0 there).</summary>
    /// <value>The default is 0. Must be ≥ 0.</value>
    [Range(typeof(long), "0", "9223372036854775807", ParseLimitsInInvariantCulture = true, ConvertValueInInvariantCulture = true, ErrorMessage = "{0} must be >= 0")]
    public long PadTokenId { get; set; }

    /// <summary>Gets or sets the seed of this call's random generator; <see langword="null"/> uses the sampler's own generator.</summary>
    /// <value>The default is <see langword="null"/>. The same seed, prompts and weights give the same completions.</value>
    public long? Seed { get; set; }

    /// <summary>Checks every setting.</summary>
    /// <exception cref="ArgumentException">One or more settings are invalid; the message lists all of them.</exception>
    public void Validate() => OptionsValidation.ThrowIfInvalid(this);

    /// <summary>The rule no attribute states: every stop token id is a token id (>= 0).</summary>
    /// <param name="validationContext">The validation context (unused).</param>
    /// <returns>The problems found.</returns>
    IEnumerable<ValidationResult> IValidatableObject.Validate(ValidationContext validationContext)
    {
        if (StopTokenIds is not null && StopTokenIds.Any(id => id < 0))
        {
            yield return new ValidationResult($"StopTokenIds must be >= 0; got [{string.Join(", ", StopTokenIds)}].", [nameof(StopTokenIds)]);
        }
    }

    /// <summary>Returns a copy of these options (with its own stop-token list).</summary>
    /// <returns>A new instance with the same settings.</returns>
    public SamplingOptions Clone()
    {
        var copy = (SamplingOptions)MemberwiseClone();
        copy.StopTokenIds = StopTokenIds is null ? [] : [.. StopTokenIds];
        return copy;
    }
}
