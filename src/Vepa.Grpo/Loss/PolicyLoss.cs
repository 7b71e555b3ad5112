using Vepa.Grpo.Kernels;

namespace Vepa.Grpo;

/// <summary>The GRPO policy loss: clipped-ratio (or CISPO) surrogate with KL penalty, sampler correction and every aggregation mode.</summary>
/// <remarks>Thread-safe: the function keeps no state (the options remember which settings were last validated, so an unchanged
/// options object is not validated again; concurrent calls with one options object are safe). It never disposes its inputs.</remarks>
public static class PolicyLoss
{
    private static readonly PolicyLossOptions Defaults = new();

    /// <summary>Computes the scalar loss and its statistics with the kernel <see cref="PolicyLossOptions.Kernel"/> names
    /// (by default the automatic choice).</summary>
    /// <param name="inputs">The per-token log-probs, advantages and mask (and, as the options need them, old, reference and sampler log-probs).</param>
    /// <param name="options">The loss settings; <see langword="null"/> uses the defaults.</param>
    /// <returns>The loss (differentiable w.r.t. <see cref="PolicyLossInputs.LogProbs"/>) and the statistics.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="inputs"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">Shapes, dtypes or devices disagree, a tensor the options need is missing, an option is
    /// invalid (an unregistered <see cref="PolicyLossOptions.Kernel"/> among them), a valid position holds NaN or infinity, or the
    /// kernel named cannot run on these inputs.</exception>
    public static PolicyLossResult Compute(PolicyLossInputs inputs, PolicyLossOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        options ??= Defaults;
        IPolicyLossKernel kernel = options.ValidatedKernel();
        PolicyLossValidation.Validate(inputs, options);
        if (kernel is IValidatedPolicyLossKernel builtIn)
        {
            return builtIn.ComputeValidated(inputs, options);
        }

        // A kernel of the host's own: it states what it cannot run, and a kernel chosen by name never falls back silently.
        return kernel.Supports(inputs, options, out string? reason)
            ? kernel.Compute(inputs, options)
            : throw new ArgumentException($"The {kernel.Name} kernel cannot run on these inputs: {reason ?? "its Supports returned false"}", nameof(inputs));
    }
}
