using System.ComponentModel.DataAnnotations;

namespace Vepa.Rewards;

/// <summary>Settings of <see cref="VisualDependencyFilter"/>.</summary>
/// <remarks>
/// <see cref="VisualDependencyFilter"/> validates and copies the options when it is built; changing them afterwards does not affect it.
/// Instances are not thread-safe.
/// </remarks>
public sealed class VisualDependencyOptions
{
    /// <summary>Gets or sets how many times the reader is asked per item. Use 1 for a greedy (deterministic) reader, more for a sampling one.</summary>
    /// <value>The default is 1. Must be in [1, 64].</value>
    [Range(1, SufficiencyRewardConstants.MaxSamples)]
    public int Samples { get; set; } = 1;

    /// <summary>Gets or sets how many of the <see cref="Samples"/> answers must be correct for an item to count as answered without evidence.</summary>
    /// <value>The default is 1 (any correct answer flags the item: the strict filter). Must be in [1, <see cref="Samples"/>].</value>
    [Range(1, SufficiencyRewardConstants.MaxSamples)]
    public int MinCorrectSamples { get; set; } = 1;

    /// <summary>Gets or sets how many items are evaluated at once (each item's samples run one after another).</summary>
    /// <value>The default is 1. Must be in [1, 256].</value>
    [Range(1, SufficiencyRewardConstants.MaxConcurrency)]
    public int MaxConcurrency { get; set; } = 1;

    /// <summary>Creates a copy of these options.</summary>
    /// <returns>The copy.</returns>
    internal VisualDependencyOptions Clone() => (VisualDependencyOptions)MemberwiseClone();
}
