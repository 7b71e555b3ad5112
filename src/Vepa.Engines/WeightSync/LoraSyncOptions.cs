using System.ComponentModel.DataAnnotations;

namespace Vepa.Engines;

/// <summary>Configures LoRA adapter sync: where versioned PEFT adapter folders are written, what the engine calls each version, how many are kept, and how long the engine may take to load one.</summary>
/// <remarks>
/// <para>Each sync writes the policy's LoRA adapters (<c>LoraAdapters.SavePeft</c>) into <c>{AdapterDirectory}/v{version}</c>, has the engine
/// load that folder under the name <c>{AdapterNamePrefix}v{version}</c> (12 digits, for example <c>vepa-v000000000003</c>), switches the
/// sampler's requests to that name, unloads the previous version's adapter, then deletes the oldest folders so that
/// <see cref="KeepVersions"/> remain. The engine keeps its base weights; only the adapters travel. See docs/engines.md for each engine's
/// adapter protocol and the server flags it needs.</para>
/// <para>Validated with the sampler's options. Not thread-safe to mutate.</para>
/// </remarks>
public sealed class LoraSyncOptions : IValidatableObject
{
    /// <summary>Gets or sets the folder the trainer writes versioned adapter folders into; the engine must read the same files (shared disk, or the same machine).</summary>
    /// <value>The default is <see langword="null"/>; required.</value>
    [Required(ErrorMessage = "{0} is required (a folder both the trainer and the engine can read)")]
    public string? AdapterDirectory { get; set; }

    /// <summary>Gets or sets the same folder as the engine's machine sees it (another mount point), or <see langword="null"/> when the path is the same there.</summary>
    /// <value>The default is <see langword="null"/>.</value>
    public string? EngineAdapterDirectory { get; set; }

    /// <summary>Gets or sets the start of every adapter name the engine is given; the version follows it.</summary>
    /// <value>The default is <c>vepa-</c>. Letters, digits, <c>-</c>, <c>_</c> and <c>.</c> only, at most 64 characters.</value>
    [Required(ErrorMessage = "{0} is required (the start of the adapter names)")]
    [RegularExpression("^[A-Za-z0-9._-]{1,64}$", ErrorMessage = "{0} must be 1 to 64 letters, digits, '-', '_' or '.'")]
    public string AdapterNamePrefix { get; set; } = "vepa-";

    /// <summary>Gets or sets the base model's name or folder written into each adapter's <c>adapter_config.json</c> as <c>base_model_name_or_path</c>.</summary>
    /// <value>The default is <see langword="null"/>: the folder the policy's model was loaded from, when it has one.</value>
    public string? BaseModelNameOrPath { get; set; }

    /// <summary>Gets or sets how many version folders are kept after a successful sync (the one just loaded included).</summary>
    /// <value>The default is 2. Must be in [1, 1000].</value>
    [Range(1, 1000, ErrorMessage = "{0} must be in [1, 1000]")]
    public int KeepVersions { get; set; } = 2;

    /// <summary>Gets or sets whether the previous version's adapter is unloaded from the engine after the new one is loaded (so the engine's adapter slots, vLLM's <c>--max-loras</c>, do not fill up).</summary>
    /// <value>The default is <see langword="true"/>.</value>
    public bool UnloadPrevious { get; set; } = true;

    /// <summary>Gets or sets the time limit of each call to the engine during a sync (the adapter load included).</summary>
    /// <value>The default is 5 minutes. Must be in [1 ms, 1 day].</value>
    [Range(typeof(TimeSpan), "00:00:00.001", "1.00:00:00", ErrorMessage = "{0} must be in [1 ms, 1 day]")]
    public TimeSpan Timeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Returns a copy of these options.</summary>
    /// <returns>A new instance with the same settings.</returns>
    public LoraSyncOptions Clone() => (LoraSyncOptions)MemberwiseClone();

    /// <summary>The rule no attribute states: the folders are not empty strings.</summary>
    /// <param name="validationContext">The validation context (unused).</param>
    /// <returns>The problems found.</returns>
    IEnumerable<ValidationResult> IValidatableObject.Validate(ValidationContext validationContext)
    {
        if (AdapterDirectory is not null && string.IsNullOrWhiteSpace(AdapterDirectory))
        {
            yield return new ValidationResult("AdapterDirectory must be a folder path; got an empty string.", [nameof(AdapterDirectory)]);
        }

        if (EngineAdapterDirectory is not null && string.IsNullOrWhiteSpace(EngineAdapterDirectory))
        {
            yield return new ValidationResult("EngineAdapterDirectory must be a folder path or null; got an empty string.", [nameof(EngineAdapterDirectory)]);
        }
    }
}
