using Vepa.Grpo.Kernels;

namespace Vepa.Grpo.Cuda;

/// <summary>The fused CUDA kernels' registration and the automatic choice's CUDA opt-in for the policy loss.</summary>
internal static class CudaKernels
{
    /// <summary>Adds the CUDA kernels to a registry: policy loss "cuda", token log-probs "cuda" and "cuda-overwriting",
    /// advantages "cuda". Each falls back to the tensor kernels where CUDA cannot run (logged once).</summary>
    public static void AddTo(KernelRegistry registry)
    {
        registry.Add(PolicyLoss);
        registry.Add(new CudaTokenLogProbKernel(overwrite: false));
        registry.Add(new CudaTokenLogProbKernel(overwrite: true));
        registry.Add(new CudaAdvantageKernel());
    }

    /// <summary>The policy-loss kernel "cuda" (stateless; every registry holds this instance).</summary>
    public static CudaPolicyLossKernel PolicyLoss { get; } = new();

    /// <summary>
    /// Whether the automatic kernel choice runs <see cref="PolicyLoss"/>: for tensors on a CUDA device when the environment
    /// variable <c>VEPA_CUDA_KERNELS=1</c> opts in (the default stays the tensor kernel until the CUDA kernels' device gate is
    /// recorded in docs/benchmarks.md). Where the CUDA kernel then cannot run (a dtype it has no kernel for, no usable driver)
    /// it runs the fused tensor kernel and logs that once.
    /// </summary>
    /// <param name="inputs">The validated inputs.</param>
    /// <returns><see langword="true"/> for CUDA inputs with the opt-in; <see langword="false"/> otherwise.</returns>
    public static bool ChoosesCudaPolicyLoss(PolicyLossInputs inputs)
        => CudaRuntime.IsKernelDevice(inputs.LogProbs.device_type) && Environment.GetEnvironmentVariable("VEPA_CUDA_KERNELS") == "1";
}
