using TorchSharp;
using static TorchSharp.torch;

namespace Vepa.Grpo.Cuda;

/// <summary>
/// The policy loss from log-probs as CUDA kernels inside one autograd function: forward launches the per-row kernel
/// (per-token loss, statistics and dL/dlog π) and the one-block finisher; backward launches one scaling kernel. The
/// formulas are those of <see cref="FusedPolicyLossFunction"/>, term by term and in the same precision.
/// </summary>
/// <remarks>Called as <c>apply(logProbs, call)</c> with a <see cref="FusedPolicyLossCall"/>; the statistics vector comes
/// back in <see cref="FusedPolicyLossCall.Summary"/> with the same layout contract, so
/// <see cref="FusedTensorPolicyLoss.Statistics"/> reads it (one device→host copy).</remarks>
internal sealed class CudaPolicyLossFunction : autograd.SingleTensorFunction<CudaPolicyLossFunction>
{
    private const string DtypeKey = "dtype";
    private const string CallKey = "call";

    /// <inheritdoc />
    public override string Name => "VepaCudaPolicyLoss";

    /// <inheritdoc />
    public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var logProbs = (Tensor)vars[0];
        var call = (FusedPolicyLossCall)vars[1];
        var (loss, coefficient, gscale, summary, layout) = Run(logProbs, call.Inputs, call.Options, call.NeedsGradient);
        call.Summary = summary;
        call.Layout = layout;
        if (coefficient is not null)
        {
            ctx.save_for_backward([coefficient, gscale, logProbs]);
            ctx.save_data(DtypeKey, logProbs.dtype);
            ctx.save_data(CallKey, call);
        }

        return loss;
    }

    /// <inheritdoc />
    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor grad_output)
    {
        List<Tensor> saved = ctx.get_saved_variables();
        var dtype = (ScalarType)ctx.get_data(DtypeKey);
        var call = (FusedPolicyLossCall)ctx.get_data(CallKey);
        if (is_grad_enabled())
        {
            // create_graph: true. The saved coefficient is a constant, so return the gradient of the same loss formed with
            // differentiable ops instead, as the tensor kernel does.
            return [PolicyLossDoubleBackward.Gradient(saved[2], call.Inputs, call.Options, grad_output), null!];
        }

        using var scope = NewDisposeScope();
        Tensor coefficient = saved[0];
        Tensor gscale = saved[1];
        ScalarType acc = CudaScalar.Accumulation(dtype);
        int device = coefficient.device_index;
        Tensor upstream = grad_output.to(acc).contiguous();
        Tensor grad = empty(coefficient.shape, dtype, coefficient.device);
        long n = coefficient.numel();
        var runtime = CudaRuntime.Instance;
        IntPtr function = runtime.Function(device, CudaSources.PolicyLoss, "vepa_policy_backward", Defines(dtype, call.Inputs.Mask.dtype));
        int threads = runtime.ThreadsPerBlock;
        long blocks = Math.Min((n + threads - 1) / threads, 32L * runtime.MultiprocessorCount(device));
        using (var args = new CudaArguments())
        {
            args.Pointer(CudaTensors.Pointer(coefficient, "coefficient", acc, device))
                .Pointer(CudaTensors.Pointer(gscale, "gscale", acc, device))
                .Pointer(CudaTensors.Pointer(upstream, "grad_output", acc, device))
                .Pointer(CudaTensors.Pointer(grad, "grad", dtype, device))
                .Long(n);
            runtime.Launch(device, function, blocks, runtime.ThreadsPerBlock, args);
        }

        GC.KeepAlive(upstream);
        GC.KeepAlive(coefficient);
        return [grad.MoveToOuterDisposeScope(), null!];
    }

    /// <summary>The defines of the policy-loss module for a data dtype and a mask dtype.</summary>
    internal static string[] Defines(ScalarType dtype, ScalarType maskDtype)
        => [$"VEPA_SCALAR={CudaScalar.Of(dtype)}", $"VEPA_MASK={CudaScalar.OfMask(maskDtype)}"];

    /// <summary>The forward computation: loss, optional coefficient with its global scale, and the statistics with their layout.</summary>
    internal static (Tensor Loss, Tensor? Coefficient, Tensor Gscale, Tensor Summary, FusedPolicyLossSummaryLayout Layout) Run(
        Tensor logProbs, PolicyLossInputs inputs, PolicyLossOptions o, bool needsGradient)
    {
        using var scope = NewDisposeScope();
        ScalarType dtype = logProbs.dtype;
        ScalarType acc = CudaScalar.Accumulation(dtype);
        int device = logProbs.device_index;
        long batch = logProbs.shape[0];
        long length = logProbs.shape[1];
        var dev = logProbs.device;

        static Tensor Contiguous(Tensor t) => t.is_contiguous() ? t : t.contiguous();
        Tensor lp = Contiguous(logProbs.detach());
        Tensor adv = Contiguous(inputs.Advantages);
        Tensor mask = Contiguous(inputs.Mask);
        Tensor? old = inputs.OldLogProbs is null ? null : Contiguous(inputs.OldLogProbs);
        bool hasKl = o.Beta > 0;
        bool hasSampler = o.SamplerCorrection != SamplerCorrectionMode.None;
        Tensor? reference = hasKl ? Contiguous(inputs.ReferenceLogProbs!) : null;
        Tensor? sampler = hasSampler ? Contiguous(inputs.SamplerLogProbs!) : null;

        Tensor? coefficient = needsGradient ? empty([batch, length], acc, dev) : null;
        Tensor partial = empty([batch, 9], ScalarType.Float64, dev);
        Tensor summary = empty([8], ScalarType.Float64, dev);
        Tensor loss = empty([], acc, dev);
        Tensor gscale = empty([1], acc, dev);
        double constNorm = batch * (double)(o.MaxCompletionLength ?? (int)length);

        var runtime = CudaRuntime.Instance;
        string[] defines = Defines(dtype, mask.dtype);
        IntPtr rows = runtime.Function(device, CudaSources.PolicyLoss, "vepa_policy_rows", defines);
        IntPtr finish = runtime.Function(device, CudaSources.PolicyLoss, "vepa_policy_finish", defines);
        using (var args = new CudaArguments())
        {
            args.Pointer(CudaTensors.Pointer(lp, nameof(PolicyLossInputs.LogProbs), dtype, device))
                .Pointer(CudaTensors.Pointer(adv, nameof(PolicyLossInputs.Advantages), dtype, device))
                .Pointer(CudaTensors.Pointer(mask, nameof(PolicyLossInputs.Mask), mask.dtype, device))
                .Pointer(CudaTensors.PointerOrZero(old, nameof(PolicyLossInputs.OldLogProbs), dtype, device))
                .Pointer(CudaTensors.PointerOrZero(reference, nameof(PolicyLossInputs.ReferenceLogProbs), dtype, device))
                .Pointer(CudaTensors.PointerOrZero(sampler, nameof(PolicyLossInputs.SamplerLogProbs), dtype, device))
                .Pointer(CudaTensors.PointerOrZero(coefficient, "coefficient", acc, device))
                .Pointer(CudaTensors.Pointer(partial, "partial", ScalarType.Float64, device))
                .Int(checked((int)batch))
                .Int(checked((int)length))
                .Flag(adv.dim() == 2)
                .Flag(needsGradient)
                .Int(o.Objective == PolicyObjective.Clip ? 0 : 1)
                .Flag(o.RatioLevel == RatioLevel.Sequence)
                .Int((int)o.SamplerCorrection)
                .Flag(o.SamplerCorrectionPerSequence)
                .Int(hasKl ? (int)o.KlEstimator : -1)
                .Int((int)o.Aggregation)
                .Flag(o.Delta is not null)
                .Flag(o.DualClip is not null)
                .Flag(old is not null && o.LogRatioClamp is not null)
                .Flag(o.KlLogRatioClamp is not null)
                .Flag(o.KlValueClamp is not null)
                .Double(o.EpsilonLow)
                .Double(o.EpsilonHigh)
                .Double(o.Delta ?? 0)
                .Double(o.DualClip ?? 0)
                .Double(o.LogRatioClamp ?? 0)
                .Double(o.Beta)
                .Double(o.KlLogRatioClamp ?? 0)
                .Double(o.KlValueClamp ?? 0)
                .Double(o.SamplerCorrectionMin)
                .Double(o.SamplerCorrectionMax)
                .Double(constNorm);
            runtime.Launch(device, rows, batch, runtime.ThreadsPerBlock, args);
        }

        using (var args = new CudaArguments())
        {
            args.Pointer(CudaTensors.Pointer(partial, "partial", ScalarType.Float64, device))
                .Int(checked((int)batch))
                .Int((int)o.Aggregation)
                .Double(constNorm)
                .Pointer(CudaTensors.Pointer(summary, "summary", ScalarType.Float64, device))
                .Pointer(CudaTensors.Pointer(loss, "loss", acc, device))
                .Pointer(CudaTensors.Pointer(gscale, "gscale", acc, device));
            runtime.Launch(device, finish, 1, runtime.ThreadsPerBlock, args);
        }

        GC.KeepAlive(lp);
        GC.KeepAlive(adv);
        GC.KeepAlive(mask);
        GC.KeepAlive(old);
        GC.KeepAlive(reference);
        GC.KeepAlive(sampler);

        var layout = new FusedPolicyLossSummaryLayout(
            ClipLow: 1,
            ClipHigh: 2,
            DualClip: o.Objective == PolicyObjective.Clip && o.DualClip is not null ? 3 : -1,
            Sampler: hasSampler ? 4 : -1,
            Checks: [5],
            RatioSum: 6,
            KlSum: hasKl ? 7 : -1);
        return (loss.MoveToOuterDisposeScope(), coefficient?.MoveToOuterDisposeScope(), gscale.MoveToOuterDisposeScope(), summary.MoveToOuterDisposeScope(), layout);
    }
}
