using Vepa.Grpo.Kernels;

namespace Vepa.Grpo.Cuda;

/// <summary>The fused CUDA kernels' registration and the automatic choice of the policy loss.</summary>
internal static class CudaKernels
{
    /// <summary>Adds the CUDA kernels to a registry: policy loss "cuda", token log-probs "cuda" and "cuda-overwriting",
    /// advantages "cuda". Each falls back to the tensor kernels where CUDA cannot run (logged once).</summary>
    public static void AddTo(KernelRegistry registry)
    {
        registry.Add(new CudaPolicyLossKernel());
        registry.Add(new CudaTokenLogProbKernel(overwrite: false));
        registry.Add(new CudaTokenLogProbKernel(overwrite: true));
        registry.Add(new CudaAdvantageKernel());
    }

    /// <summary>
    /// The automatic kernel choice for CUDA inputs: the fused CUDA kernel when it can run and the environment variable
    /// <c>VEPA_CUDA_KERNELS=1</c> opts in (the default stays the tensor kernel until the CUDA kernels' device gate is recorded
    /// in docs/benchmarks.md).
    /// </summary>
    /// <param name="inputs">The validated inputs.</param>
    /// <param name="options">The validated options.</param>
    /// <param name="result">The result, when the CUDA kernel ran.</param>
    /// <returns><see langword="true"/> when the CUDA kernel ran; <see langword="false"/> for CPU inputs (no log) or when it
    /// cannot run on CUDA inputs (the fallback is logged once).</returns>
    public static bool TryPolicyLoss(PolicyLossInputs inputs, PolicyLossOptions options, out PolicyLossResult? result)
    {
        result = null;
        if (!CudaRuntime.IsKernelDevice(inputs.LogProbs.device_type) || Environment.GetEnvironmentVariable("VEPA_CUDA_KERNELS") != "1")
        {
            return false;
        }

        bool cuda = CudaPolicyLossKernel.CanRun(inputs, options, out string? reason);
        CudaKernelChoice.Record("policy loss", reason);
        if (cuda)
        {
            result = CudaPolicyLossKernel.Run(inputs, options);
        }

        return cuda;
    }
}
