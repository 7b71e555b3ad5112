namespace Vepa;

/// <summary>Names of the reward components the VEPA sufficiency reward reports in <see cref="RewardResult.Components"/>.</summary>
public static class RewardComponentNames
{
    /// <summary>Binary sufficiency <c>s</c>: 1 when the blind reader answered correctly from the evidence, else 0.</summary>
    public const string Sufficiency = "s";

    /// <summary>Honesty flag <c>h</c>: 0 when the evidence cheats (states the answer without visual context), else 1.</summary>
    public const string Honesty = "h";

    /// <summary>Repetition factor <c>gamma</c> in (0, 1]: a weak penalty for degenerate repetition.</summary>
    public const string Repetition = "gamma";
}
