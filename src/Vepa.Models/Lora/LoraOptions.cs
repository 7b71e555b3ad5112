using System.ComponentModel.DataAnnotations;
using System.Text.RegularExpressions;

namespace Vepa.Models;

/// <summary>
/// Settings of LoRA adapters (<see cref="LoraAdapters.Apply"/>, <see cref="LoraPolicy"/>): the rank r, α, the dropout on the
/// adapter's input and which linear layers get one. The names and defaults are PEFT's <c>LoraConfig</c> (<c>r</c>,
/// <c>lora_alpha</c>, <c>lora_dropout</c>, <c>target_modules</c>), and <see cref="LoraAdapters.SavePeft"/> writes them under those names.
/// </summary>
/// <remarks>
/// <para>A targeted layer computes y = W x + b + (α / r) · B A dropout(x), with A [r, in] drawn Kaiming-uniform (a = √5, so
/// U(−1/√in, 1/√in)) and B [out, r] zero, so a fresh adapter leaves the model's output unchanged (PEFT's default
/// <c>init_lora_weights=True</c>).</para>
/// <para>Targets are matched against module paths (<c>model.layers.0.self_attn.q_proj</c>) the way PEFT matches them: a name of
/// <see cref="TargetModules"/> matches a path equal to it or ending in "." + it; <see cref="TargetModulesPattern"/>, when set, is a regular
/// expression that must match the whole path (Python's <c>re.fullmatch</c>) and replaces the list.</para>
/// <para><see cref="Validate"/> checks every setting and throws one <see cref="ArgumentException"/> listing every problem. Not thread-safe to mutate.</para>
/// </remarks>
public sealed class LoraOptions : IValidatableObject
{
    /// <summary>Gets or sets r, the rank of the adapters (PEFT's <c>r</c>).</summary>
    /// <value>The default is 8 (PEFT's). Must be in [1, 65536].</value>
    [Range(1, 65536, ErrorMessage = "{0} must be in [1, 65536]")]
    public int Rank { get; set; } = 8;

    /// <summary>Gets or sets α (PEFT's <c>lora_alpha</c>); the adapter's output is scaled by α / r.</summary>
    /// <value>The default is 8 (PEFT's), a scale of 1 at r = 8. Must be finite and &gt; 0.</value>
    [Range(0.0, double.MaxValue, MinimumIsExclusive = true, ErrorMessage = "{0} must be finite and > 0")]
    public double Alpha { get; set; } = 8;

    /// <summary>Gets or sets the dropout probability on the adapter's input (PEFT's <c>lora_dropout</c>); active only in training mode.</summary>
    /// <value>The default is 0 (PEFT's). Must be in [0, 1).</value>
    /// <remarks>With dropout &gt; 0, put the model in eval mode for the trainer's old and reference log-probs to be deterministic, and note that gradient checkpointing then recomputes a layer with a fresh dropout mask.</remarks>
    [Range(0.0, 1.0, MaximumIsExclusive = true, ErrorMessage = "{0} must be in [0, 1)")]
    public double Dropout { get; set; }

    /// <summary>Gets the names of the linear layers that get adapters (PEFT's <c>target_modules</c> as a list): a module path matches a name it equals or ends with after a dot.</summary>
    /// <value>The default is Qwen's seven projections: <c>q_proj</c>, <c>k_proj</c>, <c>v_proj</c>, <c>o_proj</c>, <c>gate_proj</c>, <c>up_proj</c>, <c>down_proj</c>. Ignored when <see cref="TargetModulesPattern"/> is set; otherwise must not be empty. Assign a whole list (<c>TargetModules = ["proj"]</c>): the list replaces the default, it is not added to it.</value>
    public IReadOnlyList<string> TargetModules { get; set; } = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"];

    /// <summary>Gets or sets a regular expression that selects the targeted layers by their whole module path (PEFT's <c>target_modules</c> as a string); it replaces <see cref="TargetModules"/>.</summary>
    /// <value>The default is <see langword="null"/> (use <see cref="TargetModules"/>). Must be a valid .NET regular expression.</value>
    public string? TargetModulesPattern { get; set; }

    /// <summary>Gets or sets the seed of the generator that draws the A matrices; <see langword="null"/> uses TorchSharp's global generator.</summary>
    /// <value>The default is <see langword="null"/>.</value>
    public long? Seed { get; set; }

    /// <summary>Returns whether a module path is targeted by these options.</summary>
    /// <param name="modulePath">The module's dotted path, such as <c>model.layers.0.mlp.up_proj</c>.</param>
    /// <returns><see langword="true"/> when the path matches <see cref="TargetModulesPattern"/> in full, or (without a pattern) equals or ends with "." + a name of <see cref="TargetModules"/>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="modulePath"/> is <see langword="null"/>.</exception>
    public bool IsTarget(string modulePath)
    {
        ArgumentNullException.ThrowIfNull(modulePath);
        if (TargetModulesPattern is { } pattern)
        {
            return Regex.IsMatch(modulePath, $"^(?:{pattern})$", RegexOptions.CultureInvariant);
        }

        return TargetModules.Any(t => modulePath == t || modulePath.EndsWith("." + t, StringComparison.Ordinal));
    }

    /// <summary>Checks every setting.</summary>
    /// <exception cref="ArgumentException">One or more settings are invalid; the message lists all of them.</exception>
    public void Validate() => OptionsValidation.ThrowIfInvalid(this);

    /// <summary>Returns a copy of these options (the target list copied).</summary>
    /// <returns>A new instance with the same settings.</returns>
    public LoraOptions Clone() => new()
    {
        Rank = Rank,
        Alpha = Alpha,
        Dropout = Dropout,
        TargetModules = TargetModules is null ? null! : [.. TargetModules],
        TargetModulesPattern = TargetModulesPattern,
        Seed = Seed,
    };

    /// <summary>The rules that span settings (the ranges are the properties' attributes).</summary>
    /// <param name="validationContext">The validation context (unused).</param>
    /// <returns>The problems found.</returns>
    IEnumerable<ValidationResult> IValidatableObject.Validate(ValidationContext validationContext)
    {
        if (TargetModulesPattern is { } pattern)
        {
            string? error = null;
            try
            {
                _ = new Regex(pattern, RegexOptions.CultureInvariant);
            }
            catch (ArgumentException e)
            {
                error = e.Message;
            }

            if (error is not null)
            {
                yield return new ValidationResult($"TargetModulesPattern is not a valid regular expression ({error}); got \"{pattern}\".", [nameof(TargetModulesPattern)]);
            }
        }
        else if (TargetModules is null || TargetModules.Count == 0)
        {
            yield return new ValidationResult("TargetModules must name at least one module when TargetModulesPattern is not set.", [nameof(TargetModules)]);
        }
        else if (TargetModules.Any(string.IsNullOrWhiteSpace))
        {
            yield return new ValidationResult("TargetModules must not hold null or blank names.", [nameof(TargetModules)]);
        }
    }
}
