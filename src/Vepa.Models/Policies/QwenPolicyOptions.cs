using System.ComponentModel.DataAnnotations;
using System.Globalization;

namespace Vepa.Models;

/// <summary>Settings of a <see cref="QwenPolicy"/>: the prompt format, the sampling defaults and the adapter's knobs.</summary>
public sealed class QwenPolicyOptions
{
    /// <summary>The default <see cref="EvidenceInstruction"/>: VEPA's task, visual evidence for the question without the answer.</summary>
    public const string DefaultEvidenceInstruction =
        "Describe the visual evidence needed to answer the question below: the objects, text, numbers, colours, positions and relations " +
        "you can see that bear on it. Do not answer the question; only describe what you see.\nQuestion: {question}";

    /// <summary>Gets or sets the user instruction; <c>{question}</c> is replaced by the question (and the options of a multiple-choice item follow it).</summary>
    /// <value>The default is <see cref="DefaultEvidenceInstruction"/>. Must contain <c>{question}</c>.</value>
    public string EvidenceInstruction { get; set; } = DefaultEvidenceInstruction;

    /// <summary>Gets or sets the chat template; <see langword="null"/> reads the snapshot's (<see cref="QwenChatTemplate.FromPretrained"/>). Set it for a base model without one (for example <see cref="QwenChatTemplate.Qwen2VL"/>).</summary>
    /// <value>The default is <see langword="null"/>.</value>
    public QwenChatTemplate? ChatTemplate { get; set; }

    /// <summary>Gets or sets the system turn; <see langword="null"/> uses the default system message of the chat template (none when it has none, as Qwen3's).</summary>
    /// <value>The default is <see langword="null"/>. An empty string writes an empty system turn.</value>
    public string? SystemPrompt { get; set; }

    /// <summary>Gets or sets the sampling temperature of <see cref="QwenPolicy.CreateSamplingOptions"/>.</summary>
    /// <value>The default is 0.9, VEPA's (the snapshot's <c>generation_config.json</c> holds chat defaults, often near-greedy, which give GRPO groups no variety).</value>
    [Range(0.0, double.MaxValue)]
    public double Temperature { get; set; } = 0.9;

    /// <summary>Gets or sets the longest completion (evidence) in tokens of <see cref="QwenPolicy.CreateSamplingOptions"/>.</summary>
    /// <value>The default is 256. Must be ≥ 1.</value>
    [Range(1, int.MaxValue)]
    public int MaxNewTokens { get; set; } = 256;

    /// <summary>Gets or sets whether training passes recompute each decoder layer in the backward pass (less activation memory, about a third more compute).</summary>
    /// <value>The default is <see langword="false"/>.</value>
    public bool GradientCheckpointing { get; set; }

    /// <summary>Gets or sets whether sampling uses the KV cache.</summary>
    /// <value>The default is <see langword="true"/>.</value>
    public bool UseKeyValueCache { get; set; } = true;

    /// <summary>Gets or sets the rows per chunk of the fused log-prob kernel; <see langword="null"/> lets it choose.</summary>
    /// <value>The default is <see langword="null"/>. When set, must be ≥ 1.</value>
    [Range(1, int.MaxValue)]
    public int? LogProbChunkSize { get; set; }

    /// <summary>Gets or sets the seed of the sampler's own generator; <see langword="null"/> seeds it randomly.</summary>
    /// <value>The default is <see langword="null"/>.</value>
    public long? Seed { get; set; }

    /// <summary>Checks every setting.</summary>
    /// <exception cref="ArgumentException">A setting is invalid; the message lists every problem.</exception>
    public void Validate()
    {
        var problems = new List<string>();
        if (EvidenceInstruction is null || !EvidenceInstruction.Contains("{question}", StringComparison.Ordinal))
        {
            problems.Add("EvidenceInstruction must contain {question}.");
        }

        if (!(Temperature >= 0) || double.IsPositiveInfinity(Temperature))
        {
            problems.Add(string.Create(CultureInfo.InvariantCulture, $"Temperature must be finite and >= 0; got {Temperature}."));
        }

        if (MaxNewTokens < 1)
        {
            problems.Add($"MaxNewTokens must be >= 1; got {MaxNewTokens}.");
        }

        if (LogProbChunkSize is int chunk && chunk < 1)
        {
            problems.Add($"LogProbChunkSize must be >= 1; got {chunk}.");
        }

        if (problems.Count > 0)
        {
            throw new ArgumentException("Invalid QwenPolicyOptions: " + string.Join(" ", problems), "options");
        }
    }

    /// <summary>Returns a copy of these options.</summary>
    /// <returns>A new instance with the same settings.</returns>
    public QwenPolicyOptions Clone() => (QwenPolicyOptions)MemberwiseClone();
}
