using System.Globalization;
using TorchSharp;
using Vepa.Grpo.Kernels;
using static TorchSharp.torch;

namespace Vepa.Grpo.Cuda;

/// <summary>
/// Group advantages as CUDA kernels behind the <see cref="IAdvantageKernel"/> contract ("cuda"): one block for the batch
/// statistics (and the count of infinite rewards), one thread per group for the advantages; statistics in float64. One
/// device→host copy (the infinite-reward count, so that such rewards are rejected as by the other kernels). Falls back to
/// the tensor kernel (logged once) without a usable CUDA device, for CPU tensors, or for other dtypes.
/// </summary>
internal sealed class CudaAdvantageKernel : IAdvantageKernel
{
    private const string Contract = "group advantages";

    public string Name => "cuda";

    /// <summary>Tells whether the CUDA kernel (rather than the fallback) runs on these rewards.</summary>
    internal static bool CanRun(Tensor rewards, out string? reason)
    {
        if (!CudaRuntime.IsKernelDevice(rewards.device_type))
        {
            reason = $"the rewards are on {rewards.device}, not a CUDA device";
            return false;
        }

        if (CudaScalar.Of(rewards.dtype) < 0)
        {
            reason = $"the rewards' dtype {rewards.dtype} has no CUDA kernel (float64, float32, bfloat16 do)";
            return false;
        }

        if (rewards.dim() != 2)
        {
            reason = $"the rewards have {rewards.dim()} dimensions; the CUDA kernel takes [P, G]";
            return false;
        }

        return CudaRuntime.Instance.IsAvailable(out reason);
    }

    public Tensor Compute(Tensor rewards, AdvantageOptions options)
    {
        ArgumentNullException.ThrowIfNull(rewards);
        ArgumentNullException.ThrowIfNull(options);
        options.ValidatedKernel();
        bool cuda = CanRun(rewards, out string? reason);
        CudaKernelChoice.Record(Contract, reason);
        if (!cuda)
        {
            return BuiltInAdvantageKernel.Tensor.Compute(rewards, options);
        }

        if (rewards.shape[1] < 2)
        {
            throw new ArgumentException($"rewards must be [P, G] with G >= 2 rollouts per group; got [{string.Join(", ", rewards.shape)}].", nameof(rewards));
        }

        using var scope = NewDisposeScope();
        ScalarType dtype = rewards.dtype;
        int device = rewards.device_index;
        int groups = checked((int)rewards.shape[0]);
        int groupSize = checked((int)rewards.shape[1]);
        Tensor r = rewards.is_contiguous() ? rewards : rewards.contiguous();
        Tensor stats = empty([2], ScalarType.Float64, rewards.device);
        Tensor advantages = empty([groups, groupSize], dtype, rewards.device);
        var runtime = CudaRuntime.Instance;
        string define = $"VEPA_SCALAR={CudaScalar.Of(dtype)}";
        IntPtr batch = runtime.Function(device, CudaSources.Advantages, "vepa_adv_batch", define);
        IntPtr perGroup = runtime.Function(device, CudaSources.Advantages, "vepa_adv_groups", define);
        using (var args = new CudaArguments())
        {
            args.Pointer(CudaTensors.Pointer(r, nameof(rewards), dtype, device))
                .Long(r.numel())
                .Pointer(CudaTensors.Pointer(stats, "stats", ScalarType.Float64, device));
            runtime.Launch(device, batch, 1, runtime.ThreadsPerBlock, args);
        }

        using (var args = new CudaArguments())
        {
            args.Pointer(CudaTensors.Pointer(r, nameof(rewards), dtype, device))
                .Int(groups)
                .Int(groupSize)
                .Int((int)options.Normalization)
                .Double(options.Epsilon)
                .Pointer(CudaTensors.Pointer(stats, "stats", ScalarType.Float64, device))
                .Pointer(CudaTensors.Pointer(advantages, "advantages", dtype, device));
            runtime.Launch(device, perGroup, (groups + runtime.ThreadsPerBlock - 1) / runtime.ThreadsPerBlock, runtime.ThreadsPerBlock, args);
        }

        GC.KeepAlive(r);
        double infinite = stats[1].item<double>();
        if (infinite > 0)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"rewards holds {infinite:0} infinite value(s); a reward must be finite, or NaN when it could not be computed."), nameof(rewards));
        }

        return advantages.MoveToOuterDisposeScope();
    }
}
