namespace Vepa;

/// <summary>Whether a reward could be computed.</summary>
public enum RewardStatus
{
    /// <summary>The reward was computed; <see cref="RewardResult.Value"/> is finite.</summary>
    Scored,

    /// <summary>The reward could not be computed; <see cref="RewardResult.Value"/> is <see cref="double.NaN"/> and <see cref="RewardResult.Failure"/> says why.</summary>
    Failed,
}
