using System.ComponentModel.DataAnnotations;

namespace Vepa.Engines;

/// <summary>Configures full-weight sync: where versioned Hugging Face snapshots are written, how many are kept, and how long the engine may take to load one.</summary>
/// <remarks>
/// <para>Each sync writes the policy as a Hugging Face snapshot folder (safetensors shards under the published names, config.json,
/// generation_config.json, tokenizer files) into <c>{SnapshotDirectory}/v{version}</c>, then tells the engine to load it, then deletes the
/// oldest version folders so that <see cref="KeepVersions"/> remain. See docs/engines.md for each engine's reload protocol.</para>
/// <para>Validated with the sampler's options. Not thread-safe to mutate.</para>
/// </remarks>
public sealed class FullWeightSyncOptions : IValidatableObject
{
    /// <summary>Gets or sets the folder the trainer writes versioned snapshots into; the engine must read the same files (shared disk, or the same machine).</summary>
    /// <value>The default is <see langword="null"/>; required.</value>
    [Required(ErrorMessage = "{0} is required (a folder both the trainer and the engine can read)")]
    public string? SnapshotDirectory { get; set; }

    /// <summary>Gets or sets the same folder as the engine's machine sees it (another mount point), or <see langword="null"/> when the path is the same there.</summary>
    /// <value>The default is <see langword="null"/>.</value>
    public string? EngineSnapshotDirectory { get; set; }

    /// <summary>Gets or sets how many version folders are kept after a successful sync (the one just loaded included).</summary>
    /// <value>The default is 2. Must be in [1, 1000].</value>
    [Range(1, 1000, ErrorMessage = "{0} must be in [1, 1000]")]
    public int KeepVersions { get; set; } = 2;

    /// <summary>Gets or sets the time limit of each call to the engine during a sync (the reload itself included).</summary>
    /// <value>The default is 30 minutes. Must be in [1 ms, 1 day].</value>
    [Range(typeof(TimeSpan), "00:00:00.001", "1.00:00:00", ErrorMessage = "{0} must be in [1 ms, 1 day]")]
    public TimeSpan Timeout { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>Gets or sets whether vLLM is paused (<c>POST /pause?mode=wait</c>, then <c>/resume</c>) around the reload, so no request samples from half-loaded weights. SGLang pauses by itself inside <c>/update_weights_from_disk</c>.</summary>
    /// <value>The default is <see langword="true"/>.</value>
    public bool PauseDuringReload { get; set; } = true;

    /// <summary>Gets or sets the function that writes the policy as a Hugging Face snapshot into a folder (created and empty).</summary>
    /// <value>
    /// The default, <see langword="null"/>, saves a <c>QwenPolicy</c>, <c>QwenForCausalLM</c> or <c>Qwen2VLForConditionalGeneration</c> found
    /// through <see cref="IPolicy.GetService"/> with its <c>SavePretrained</c>, and throws for any other policy (then supply this).
    /// </value>
    public Action<IPolicy, string>? WriteSnapshot { get; set; }

    /// <summary>Returns a copy of these options (the delegate is shared).</summary>
    /// <returns>A new instance with the same settings.</returns>
    public FullWeightSyncOptions Clone() => (FullWeightSyncOptions)MemberwiseClone();

    /// <summary>The rule no attribute states: the folders are not empty strings.</summary>
    /// <param name="validationContext">The validation context (unused).</param>
    /// <returns>The problems found.</returns>
    IEnumerable<ValidationResult> IValidatableObject.Validate(ValidationContext validationContext)
    {
        if (SnapshotDirectory is not null && string.IsNullOrWhiteSpace(SnapshotDirectory))
        {
            yield return new ValidationResult("SnapshotDirectory must be a folder path; got an empty string.", [nameof(SnapshotDirectory)]);
        }

        if (EngineSnapshotDirectory is not null && string.IsNullOrWhiteSpace(EngineSnapshotDirectory))
        {
            yield return new ValidationResult("EngineSnapshotDirectory must be a folder path or null; got an empty string.", [nameof(EngineSnapshotDirectory)]);
        }
    }
}
