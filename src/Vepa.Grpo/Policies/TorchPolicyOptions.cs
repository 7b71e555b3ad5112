using System.ComponentModel.DataAnnotations;

namespace Vepa.Grpo;

/// <summary>Settings of a <see cref="TorchPolicy"/>.</summary>
public sealed class TorchPolicyOptions
{
    /// <summary>Gets or sets whether sampling uses the module's KV cache when it offers one (<see cref="PolicyModule.SupportsKeyValueCache"/>).</summary>
    /// <value>The default is <see langword="true"/>. <see langword="false"/> recomputes the whole sequence at every new token.</value>
    public bool UseKeyValueCache { get; set; } = true;

    /// <summary>Gets or sets the rows per chunk of the fused log-prob kernel; <see langword="null"/> lets the kernel choose (64 MiB of logits).</summary>
    /// <value>The default is <see langword="null"/>. When set, must be ≥ 1.</value>
    [Range(1, int.MaxValue)]
    public int? LogProbChunkSize { get; set; }

    /// <summary>Gets or sets the seed of the sampler's own generator, used when <see cref="SamplingOptions.Seed"/> is <see langword="null"/>; <see langword="null"/> seeds it randomly.</summary>
    /// <value>The default is <see langword="null"/>.</value>
    public long? Seed { get; set; }

    /// <summary>Gets or sets the token id written into the left padding of shorter prompts (masked out) when the module supports attention masks.</summary>
    /// <value>The default is 0. Must be ≥ 0 and below the LM head's rows; choose an id the module treats as plain text (not an image placeholder), such as the tokenizer's pad token.</value>
    [Range(0, long.MaxValue)]
    public long PromptPadTokenId { get; set; }

    /// <summary>Checks every setting.</summary>
    /// <exception cref="ArgumentException">A setting is invalid; the message lists every problem.</exception>
    public void Validate()
    {
        var problems = new List<string>();
        if (LogProbChunkSize is int chunk && chunk < 1)
        {
            problems.Add($"LogProbChunkSize must be >= 1; got {chunk}.");
        }

        if (PromptPadTokenId < 0)
        {
            problems.Add($"PromptPadTokenId must be >= 0; got {PromptPadTokenId}.");
        }

        if (problems.Count > 0)
        {
            throw new ArgumentException("Invalid TorchPolicyOptions: " + string.Join(" ", problems), "options");
        }
    }

    /// <summary>Returns a copy of these options.</summary>
    /// <returns>A new instance with the same settings.</returns>
    public TorchPolicyOptions Clone() => (TorchPolicyOptions)MemberwiseClone();
}
