using TorchSharp;
using Vepa.Grpo.Kernels;

namespace Vepa.Grpo;

/// <summary>GRPO advantages: rewards of P prompts × G rollouts normalised within their group (group std, batch std, mean-centred or RLOO).</summary>
/// <remarks>
/// <para><b>Layout.</b> Rewards are shaped [P, G], or flat [P·G] with the G rollouts of each prompt next to each other
/// (then <see cref="AdvantageOptions.GroupSize"/> gives G). The advantages come back with the same shape, dtype and device.</para>
/// <para><b>Precision.</b> Statistics are computed in float64 whatever the input dtype (float32 on Apple MPS, which has no float64);
/// bfloat16 and float16 rewards are accepted and the advantages are rounded back to the input dtype.</para>
/// <para><b>Missing rewards.</b> A NaN reward (one that could not be computed) is left out of every statistic (means, standard
/// deviations, the leave-one-out baseline, the batch statistics) and its advantage is exactly 0. Infinite rewards are rejected.</para>
/// <para><b>Zero-signal groups.</b> A group with fewer than 2 valid rewards, or whose valid rewards are all equal (std exactly 0;
/// judged by min = max, so rounding cannot hide it), gets advantage exactly 0 at every rollout and is flagged in
/// <see cref="AdvantageResult.ZeroSignalGroups"/>. This holds in every normalisation mode.</para>
/// <para><b>Kernels.</b> <see cref="AdvantageOptions.Kernel"/> names the kernel (a registered name, see docs/kernels.md). By
/// default contiguous CPU float32/float64 rewards go through a single-pass managed kernel (one sweep per group, parallel over
/// groups for large batches); anything else (CUDA, bf16/fp16, strided views) through a short sequence of device-agnostic tensor
/// ops with one host synchronisation, to read the counts of the result.</para>
/// <para>No gradient flows: the advantages are constants and do not require grad. The inputs are never modified or disposed.
/// Thread-safe: the class keeps no state (the options remember which settings were last validated).</para>
/// </remarks>
public static class GroupAdvantages
{
    private static readonly AdvantageOptions Defaults = new();

    /// <summary>Computes the advantages of one reward per rollout.</summary>
    /// <param name="rewards">The rewards, [P, G] or flat [P·G]; float32, float64, bfloat16 or float16; NaN marks a missing reward.</param>
    /// <param name="options">The settings; <see langword="null"/> uses the defaults (group std, ε = 1e-4).</param>
    /// <returns>The advantages and the zero-signal statistics; the caller disposes it.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="rewards"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">
    /// The shape is not [P, G] or [P·G], G &lt; 2, the flat length is not divisible by <see cref="AdvantageOptions.GroupSize"/>, the dtype
    /// is not floating point, a reward is infinite, an option is invalid (an unregistered <see cref="AdvantageOptions.Kernel"/>
    /// among them), or the kernel named cannot run on these inputs.
    /// </exception>
    public static AdvantageResult Compute(torch.Tensor rewards, AdvantageOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(rewards);
        options ??= Defaults;
        IAdvantageKernel kernel = options.ValidatedKernel();
        return Run(kernel, AdvantageValidation.Validate([rewards], [1.0], options, nameof(rewards)), options);
    }

    /// <summary>Computes the advantages of several weighted reward components per rollout.</summary>
    /// <param name="components">
    /// The reward components r_k, each [P, G] or flat [P·G], all of one shape, dtype and device. A NaN in any component makes the
    /// rollout's combined reward NaN (even where that component's weight is 0): the rollout is left out of every statistic and
    /// its advantage is 0.
    /// </param>
    /// <param name="weights">The weights w_k, one per component, finite (negative weights are allowed).</param>
    /// <param name="options">The settings; <see cref="AdvantageOptions.Combination"/> chooses sum-then-normalise or normalise-then-sum.</param>
    /// <returns>The advantages and the zero-signal statistics; the caller disposes it.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="components"/> or <paramref name="weights"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">
    /// There are no components, the component and weight counts differ, a weight is not finite, a component is null, the components
    /// differ in shape, device or dtype, or any of the conditions of <see cref="Compute(torch.Tensor, AdvantageOptions?)"/> holds.
    /// </exception>
    public static AdvantageResult Compute(IReadOnlyList<torch.Tensor> components, IReadOnlyList<double> weights, AdvantageOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(components);
        ArgumentNullException.ThrowIfNull(weights);
        options ??= Defaults;
        IAdvantageKernel kernel = options.ValidatedKernel();
        return Run(kernel, AdvantageValidation.Validate(components, weights, options, nameof(components)), options);
    }

    // A kernel of the host's own gets the combined reward [P, G]; one chosen by name never falls back silently.
    private static AdvantageResult Run(IAdvantageKernel kernel, AdvantageBatch batch, AdvantageOptions options)
        => kernel is IValidatedAdvantageKernel builtIn ? builtIn.ComputeValidated(batch, options) : RegisteredAdvantageKernel.Compute(kernel, batch, options);
}
