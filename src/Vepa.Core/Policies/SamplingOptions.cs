using System.ComponentModel.DataAnnotations;
using System.Globalization;

namespace Vepa;

/// <summary>How a sampler draws completions: temperature, nucleus (top-p) and top-k filtering, length and stop tokens, seed.</summary>
/// <remarks>
/// <para>Filters apply in the order temperature, top-k, top-p, as in Hugging Face <c>generate</c> and vLLM. A completion ends
/// after the first token in <see cref="StopTokenIds"/> (that token is part of the completion and of its mask); a completion that
/// reaches <see cref="MaxNewTokens"/> without one is <em>truncated</em>.</para>
/// <para>Call <see cref="Validate"/> (samplers do) to get one <see cref="ArgumentException"/> listing every problem. Instances are
/// not thread-safe to mutate; one instance may be shared by concurrent calls that do not change it.</para>
/// </remarks>
public sealed class SamplingOptions
{
    /// <summary>Gets or sets the sampling temperature τ; logits are divided by it. 0 means greedy decoding (argmax).</summary>
    /// <value>The default is 1. Must be finite and ≥ 0.</value>
    [Range(0.0, double.MaxValue)]
    public double Temperature { get; set; } = 1.0;

    /// <summary>Gets or sets the nucleus threshold: only the smallest set of most likely tokens whose probability sums to at least p is kept. 1 disables it.</summary>
    /// <value>The default is 1. Must be in (0, 1].</value>
    [Range(double.Epsilon, 1.0)]
    public double TopP { get; set; } = 1.0;

    /// <summary>Gets or sets k: only the k most likely tokens are kept. <see langword="null"/> (or 0) disables it.</summary>
    /// <value>The default is <see langword="null"/>. When set, must be ≥ 0.</value>
    [Range(0, int.MaxValue)]
    public int? TopK { get; set; }

    /// <summary>Gets or sets the maximum number of completion tokens; a completion that reaches it without a stop token is truncated.</summary>
    /// <value>The default is 128. Must be ≥ 1.</value>
    [Range(1, int.MaxValue)]
    public int MaxNewTokens { get; set; } = 128;

    /// <summary>Gets or sets the token ids that end a completion (EOS and any other stop tokens). Empty: completions always run to <see cref="MaxNewTokens"/>.</summary>
    /// <value>The default is empty.</value>
    public IList<long> StopTokenIds { get; set; } = [];

    /// <summary>Gets or sets the id written after a completion's end (its mask is 0 there).</summary>
    /// <value>The default is 0. Must be ≥ 0.</value>
    [Range(0, long.MaxValue)]
    public long PadTokenId { get; set; }

    /// <summary>Gets or sets the seed of this call's random generator; <see langword="null"/> uses the sampler's own generator.</summary>
    /// <value>The default is <see langword="null"/>. The same seed, prompts and weights give the same completions.</value>
    public long? Seed { get; set; }

    /// <summary>Checks every setting.</summary>
    /// <exception cref="ArgumentException">One or more settings are invalid; the message lists all of them.</exception>
    public void Validate()
    {
        var problems = new List<string>();
        if (!(Temperature >= 0) || double.IsPositiveInfinity(Temperature))
        {
            problems.Add(string.Create(CultureInfo.InvariantCulture, $"Temperature must be finite and >= 0 (0 = greedy); got {Temperature}."));
        }

        if (!(TopP > 0 && TopP <= 1))
        {
            problems.Add(string.Create(CultureInfo.InvariantCulture, $"TopP must be in (0, 1]; got {TopP}."));
        }

        if (TopK is int k && k < 0)
        {
            problems.Add($"TopK must be >= 0 (0 or null disables it); got {k}.");
        }

        if (MaxNewTokens < 1)
        {
            problems.Add($"MaxNewTokens must be >= 1; got {MaxNewTokens}.");
        }

        if (StopTokenIds is null)
        {
            problems.Add("StopTokenIds must not be null (use an empty list for none).");
        }
        else if (StopTokenIds.Any(id => id < 0))
        {
            problems.Add($"StopTokenIds must be >= 0; got [{string.Join(", ", StopTokenIds)}].");
        }

        if (PadTokenId < 0)
        {
            problems.Add($"PadTokenId must be >= 0; got {PadTokenId}.");
        }

        if (problems.Count > 0)
        {
            throw new ArgumentException("Invalid SamplingOptions: " + string.Join(" ", problems), "options");
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
