namespace Vepa.Grpo;

/// <summary>Defaults of the advantage kernels.</summary>
internal static class AdvantageConstants
{
    /// <summary>The default ε added to the standard deviation: TRL's 1e-4 (verl uses 1e-6, OpenRLHF 1e-9).</summary>
    public const double DefaultEpsilon = 1e-4;

    /// <summary>The smallest number of rollouts per group.</summary>
    public const int MinGroupSize = 2;
}
