using System.Globalization;

namespace Vepa.Rewards;

/// <summary>Checks and helpers shared by the reward pipeline stages.</summary>
internal static class RewardPipelineGuards
{
    /// <summary>Throws when an inner model broke the one-result-per-request contract.</summary>
    /// <param name="results">What the inner model returned.</param>
    /// <param name="expected">The number of requests sent.</param>
    /// <param name="stage">The stage that called the inner model, for the message.</param>
    /// <remarks>Every stage throws the same <see cref="RewardContractException"/>, which the outer stages and the GRPO trainer let through
    /// unchanged (it is never retried, logged as a failed batch's reason, or turned into failed rewards).</remarks>
    /// <exception cref="RewardContractException">The list is <see langword="null"/>, the count is wrong or a result is <see langword="null"/>.</exception>
    public static void EnsureOneResultPerRequest(IReadOnlyList<RewardResult>? results, int expected, string stage)
        => RewardContractException.ThrowIfBroken(results, expected, $"the {stage} stage");

    /// <summary>Formats a duration for messages: "250 ms", "1.5 s", "2 min".</summary>
    /// <param name="duration">The duration.</param>
    /// <returns>The text.</returns>
    public static string FormatDuration(TimeSpan duration) => duration switch
    {
        { TotalSeconds: < 1 } => string.Create(CultureInfo.InvariantCulture, $"{duration.TotalMilliseconds:0.###} ms"),
        { TotalMinutes: < 1 } => string.Create(CultureInfo.InvariantCulture, $"{duration.TotalSeconds:0.###} s"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{duration.TotalMinutes:0.###} min"),
    };
}
