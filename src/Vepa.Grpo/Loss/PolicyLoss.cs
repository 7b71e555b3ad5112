namespace Vepa.Grpo;

/// <summary>The GRPO policy loss: clipped-ratio (or CISPO) surrogate with KL penalty, sampler correction and every aggregation mode.</summary>
/// <remarks>Thread-safe: the function keeps no state. It never disposes its inputs.</remarks>
public static class PolicyLoss
{
    /// <summary>Computes the scalar loss and its statistics.</summary>
    /// <param name="inputs">The per-token log-probs, advantages and mask (and, as the options need them, old, reference and sampler log-probs).</param>
    /// <param name="options">The loss settings; <see langword="null"/> uses the defaults.</param>
    /// <returns>The loss (differentiable w.r.t. <see cref="PolicyLossInputs.LogProbs"/>) and the statistics.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="inputs"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">Shapes, dtypes or devices disagree, a tensor the options need is missing, an option is invalid, or a valid position holds NaN or infinity.</exception>
    public static PolicyLossResult Compute(PolicyLossInputs inputs, PolicyLossOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        options ??= new PolicyLossOptions();
        options.Validate();
        PolicyLossValidation.Validate(inputs, options);

        return options.Kernel switch
        {
            PolicyLossKernel.Managed => ManagedPolicyLoss.CanRunAfterConversion(inputs, out string? why)
                ? ManagedPolicyLoss.Compute(inputs, options)
                : throw new ArgumentException($"The managed kernel cannot run on these inputs: {why}", nameof(inputs)),
            PolicyLossKernel.FusedTensor => FusedTensorPolicyLoss.Compute(inputs, options),
            _ when Cuda.CudaKernels.TryPolicyLoss(inputs, options, out var cudaResult) => cudaResult!,
            _ => ManagedPolicyLoss.CanRunAfterConversion(inputs, out _)
                ? ManagedPolicyLoss.Compute(inputs, options)
                : FusedTensorPolicyLoss.Compute(inputs, options),
        };
    }
}
