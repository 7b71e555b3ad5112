namespace Vepa.Grpo;

/// <summary>Where each quantity sits in the statistics vector of <see cref="FusedPolicyLossFunction"/>: index 0 is the number
/// of valid tokens, then flag counts over the valid tokens, then the sums of ρ and of the KL estimator.</summary>
/// <param name="ClipLow">Index of the low-clip count.</param>
/// <param name="ClipHigh">Index of the high-clip count.</param>
/// <param name="DualClip">Index of the dual-clip count, or −1 when dual clip is off.</param>
/// <param name="Sampler">Index of the count of truncated/masked sampler weights, or −1 when sampler correction is off.</param>
/// <param name="Checks">Indices of counts that must equal the token count (finite values, a float mask of exactly 1 where valid).</param>
/// <param name="RatioSum">Index of Σ M·ρ.</param>
/// <param name="KlSum">Index of Σ M·KL, or −1 when β = 0.</param>
internal sealed record FusedPolicyLossSummaryLayout(int ClipLow, int ClipHigh, int DualClip, int Sampler, int[] Checks, int RatioSum, int KlSum)
{
    /// <summary>Index of the number of valid tokens.</summary>
    public const int TokenCount = 0;
}
