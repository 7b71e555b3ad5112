using TorchSharp;
using Vepa.Grpo.Kernels;
using static TorchSharp.torch;

namespace Vepa.Grpo.Cuda;

/// <summary>
/// Token log-probs from logits as fused CUDA kernels behind the <see cref="ITokenLogProbKernel"/> contract ("cuda", and
/// "cuda-overwriting", whose backward writes the gradient into the logits' memory). Falls back to the chunked tensor kernel
/// (logged once) without a usable CUDA device, for CPU tensors, or for dtypes other than float64/float32/bfloat16.
/// </summary>
internal sealed class CudaTokenLogProbKernel : ITokenLogProbKernel
{
    private const string Contract = "token log-probs";
    private readonly bool _overwrite;

    public CudaTokenLogProbKernel(bool overwrite)
    {
        _overwrite = overwrite;
        Name = overwrite ? "cuda-overwriting" : "cuda";
    }

    public string Name { get; }

    /// <summary>Tells whether the CUDA kernel (rather than the fallback) runs on these inputs.</summary>
    internal static bool CanRun(Tensor logits, out string? reason)
    {
        if (!CudaRuntime.IsKernelDevice(logits.device_type))
        {
            reason = $"the logits are on {logits.device}, not a CUDA device";
            return false;
        }

        if (CudaScalar.Of(logits.dtype) < 0)
        {
            reason = $"the logits' dtype {logits.dtype} has no CUDA kernel (float64, float32, bfloat16 do)";
            return false;
        }

        if (logits.shape[2] > int.MaxValue / 2)
        {
            reason = $"the vocabulary ({logits.shape[2]}) is too large for one row per block";
            return false;
        }

        return CudaRuntime.Instance.IsAvailable(out reason);
    }

    public Tensor Compute(Tensor logits, Tensor targets, double temperature)
    {
        ArgumentNullException.ThrowIfNull(logits);
        ArgumentNullException.ThrowIfNull(targets);
        TokenLogProbValidation.ValidateLogits(logits, targets, temperature, chunkSize: null, shift: false);
        bool cuda = CanRun(logits, out string? reason);
        CudaKernelChoice.Record(Contract, reason);
        if (!cuda)
        {
            return _overwrite
                ? TokenLogProbs.FromLogitsOverwritingLogits(logits, targets, temperature)
                : TokenLogProbs.FromLogits(logits, targets, temperature);
        }

        using var scope = NewDisposeScope();
        Tensor ids = targets.to(ScalarType.Int64);

        // Overwriting needs the caller's contiguous buffer; a non-contiguous input gets a fresh gradient instead.
        bool overwrite = _overwrite && logits.is_contiguous();
        Tensor input = logits.is_contiguous() ? logits.view(logits.shape) : logits.contiguous();
        return CudaTokenLogProbFunction.apply(input, ids, temperature, overwrite).MoveToOuterDisposeScope();
    }
}
