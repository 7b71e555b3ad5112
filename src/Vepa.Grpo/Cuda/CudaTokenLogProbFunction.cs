using TorchSharp;
using static TorchSharp.torch;

namespace Vepa.Grpo.Cuda;

/// <summary>
/// Token log-probs from logits as CUDA kernels (Liger-style): forward streams each row once with an online log-sum-exp and
/// keeps only the lse; backward writes dlogits = (onehot − softmax)·dlogp/τ, into a new tensor or into the logits' own memory.
/// </summary>
/// <remarks>Called as <c>apply(logits, targets, temperature, overwrite)</c> with contiguous CUDA logits [B, T, V] and int64
/// targets [B, T] on the same device. The log-probs are float32 (float64 for float64 logits).</remarks>
internal sealed class CudaTokenLogProbFunction : autograd.SingleTensorFunction<CudaTokenLogProbFunction>
{

    /// <inheritdoc />
    public override string Name => "VepaCudaTokenLogProbs";

    /// <inheritdoc />
    public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var logits = (Tensor)vars[0];
        var targets = (Tensor)vars[1];
        double temperature = (double)vars[2];
        bool overwrite = (bool)vars[3];
        using var scope = NewDisposeScope();
        ScalarType dtype = logits.dtype;
        ScalarType acc = CudaScalar.Accumulation(dtype);
        int device = logits.device_index;
        long batch = logits.shape[0];
        long time = logits.shape[1];
        long rows = batch * time;
        int vocabulary = checked((int)logits.shape[2]);
        Tensor ids = targets.is_contiguous() ? targets : targets.contiguous();
        Tensor logProbs = empty([batch, time], acc, logits.device);
        Tensor lse = empty([rows], acc, logits.device);
        var runtime = CudaRuntime.Instance;
        IntPtr function = runtime.Function(device, CudaSources.TokenLogProbs, "vepa_logprob_forward", $"VEPA_SCALAR={CudaScalar.Of(dtype)}");
        using (var args = new CudaArguments())
        {
            args.Pointer(CudaTensors.Pointer(logits, "logits", dtype, device))
                .Pointer(CudaTensors.Pointer(ids, "targets", ScalarType.Int64, device))
                .Pointer(CudaTensors.Pointer(logProbs, "logProbs", acc, device))
                .Pointer(CudaTensors.Pointer(lse, "lse", acc, device))
                .Long(rows)
                .Int(vocabulary)
                .Double(temperature);
            runtime.Launch(device, function, rows, runtime.ThreadsPerBlock, args);
        }

        GC.KeepAlive(logits);
        GC.KeepAlive(ids);
        ctx.save_for_backward([logits, ids, lse]);
        ctx.save_data("temperature", temperature);
        ctx.save_data("overwrite", overwrite);
        lse.MoveToOuterDisposeScope();
        ids.MoveToOuterDisposeScope();
        return logProbs.MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor grad_output)
    {
        using var scope = NewDisposeScope();
        var saved = ctx.get_saved_variables();
        Tensor logits = saved[0];
        Tensor ids = saved[1];
        Tensor lse = saved[2];
        double temperature = (double)ctx.get_data("temperature");
        bool overwrite = (bool)ctx.get_data("overwrite");
        ScalarType dtype = logits.dtype;
        ScalarType acc = lse.dtype;
        int device = logits.device_index;
        long rows = lse.shape[0];
        int vocabulary = checked((int)logits.shape[2]);
        Tensor upstream = grad_output.to(acc).contiguous();
        Tensor grad = overwrite ? logits : empty(logits.shape, dtype, logits.device);
        var runtime = CudaRuntime.Instance;
        IntPtr function = runtime.Function(device, CudaSources.TokenLogProbs, "vepa_logprob_backward", $"VEPA_SCALAR={CudaScalar.Of(dtype)}");
        using (var args = new CudaArguments())
        {
            args.Pointer(CudaTensors.Pointer(logits, "logits", dtype, device))
                .Pointer(CudaTensors.Pointer(ids, "targets", ScalarType.Int64, device))
                .Pointer(CudaTensors.Pointer(lse, "lse", acc, device))
                .Pointer(CudaTensors.Pointer(upstream, "grad_output", acc, device))
                .Pointer(CudaTensors.Pointer(grad, "grad", dtype, device))
                .Long(rows)
                .Int(vocabulary)
                .Double(temperature);
            runtime.Launch(device, function, rows, runtime.ThreadsPerBlock, args);
        }

        GC.KeepAlive(upstream);
        return [grad.MoveToOuterDisposeScope(), null!, null!, null!];
    }
}
