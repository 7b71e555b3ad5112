namespace Vepa.Grpo;

/// <summary>The time spent so far in each phase of a step.</summary>
internal sealed class PhaseTimes
{
    public TimeSpan Generation { get; set; }

    public TimeSpan Reward { get; set; }

    public TimeSpan LogProbs { get; set; }

    public TimeSpan Update { get; set; }
}
