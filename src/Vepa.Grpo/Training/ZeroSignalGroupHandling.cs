namespace Vepa.Grpo;

/// <summary>What the trainer does with a zero-signal group (fewer than 2 scored rewards, or all scored rewards equal, so every advantage is 0).</summary>
public enum ZeroSignalGroupHandling
{
    /// <summary>Keep the group: its policy term is 0 but its KL term (β &gt; 0) still counts, and its rows count in the loss's averages (TRL's default). The default.</summary>
    Keep,

    /// <summary>Drop the group's rows from the update (DAPO's filter without resampling).</summary>
    Drop,

    /// <summary>
    /// Sample the group's prompt again, up to <see cref="GrpoTrainerOptions.MaxResampleRounds"/> times, replacing the group's rollouts,
    /// then drop the groups that still carry no signal (DAPO dynamic sampling, bounded, over the step's own prompts).
    /// </summary>
    Resample,
}
