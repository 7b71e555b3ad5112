using TorchSharp;
using Vepa.Grpo.Kernels;
using static TorchSharp.torch;

namespace Vepa.Grpo.Cuda;

/// <summary>
/// The policy loss from log-probs as fused CUDA kernels behind the <see cref="IPolicyLossKernel"/> contract ("cuda"):
/// every variant of the tensor kernel (clip-higher, δ, dual clip, log-ratio clamp, CISPO, GSPO's sequence ratio, k1/k2/k3
/// with clamps, every aggregation, truncated or masked sampler correction per token or per sequence). Three launches per
/// forward and backward and one device→host copy (the statistics). Falls back to the tensor kernel (logged once) without
/// a usable CUDA device, for CPU tensors, or for dtypes it has no kernel for.
/// </summary>
internal sealed class CudaPolicyLossKernel : IValidatedPolicyLossKernel
{
    private const string Contract = "policy loss";

    public string Name => "cuda";

    /// <summary>Tells whether the CUDA kernel (rather than the fallback) runs on these inputs.</summary>
    internal static bool CanRun(PolicyLossInputs inputs, PolicyLossOptions options, out string? reason)
    {
        Tensor lp = inputs.LogProbs;
        if (!CudaRuntime.IsKernelDevice(lp.device_type))
        {
            reason = $"LogProbs is on {lp.device}, not a CUDA device";
            return false;
        }

        if (CudaScalar.Of(lp.dtype) < 0)
        {
            reason = $"LogProbs has dtype {lp.dtype}; the CUDA kernel takes float64, float32 or bfloat16";
            return false;
        }

        if (CudaScalar.OfMask(inputs.Mask.dtype) < 0)
        {
            reason = $"Mask has dtype {inputs.Mask.dtype}; the CUDA kernel takes bool, uint8, int32, int64, float32 or float64";
            return false;
        }

        if (EntropyTerms.Active(options))
        {
            reason = "EntropyCoefficient or TopEntropyQuantile is set; the CUDA kernel has no entropy terms (the tensor kernel runs them)";
            return false;
        }

        if (lp.numel() == 0)
        {
            reason = "LogProbs is empty";
            return false;
        }

        var others = new (string Name, Tensor? Tensor)[]
        {
            (nameof(PolicyLossInputs.Advantages), inputs.Advantages),
            (nameof(PolicyLossInputs.OldLogProbs), inputs.OldLogProbs),
            (nameof(PolicyLossInputs.ReferenceLogProbs), options.Beta > 0 ? inputs.ReferenceLogProbs : null),
            (nameof(PolicyLossInputs.SamplerLogProbs), options.SamplerCorrection != SamplerCorrectionMode.None ? inputs.SamplerLogProbs : null),
        };
        foreach (var (name, t) in others)
        {
            if (t is not null && t.dtype != lp.dtype)
            {
                reason = $"{name} has dtype {t.dtype} but LogProbs has {lp.dtype}; the CUDA kernel takes one dtype";
                return false;
            }
        }

        return CudaRuntime.Instance.IsAvailable(out reason);
    }

    public bool Supports(PolicyLossInputs inputs, PolicyLossOptions options, out string? reason)
    {
        // On a CUDA device the entropy terms are a case this kernel does not implement: reported (the gate skips the case, a kernel
        // picked by name refuses it) rather than computed by the fallback under this kernel's name. Without a device every case
        // falls back, as documented.
        if (CudaRuntime.IsKernelDevice(inputs.LogProbs.device_type) && EntropyTerms.Active(options))
        {
            reason = "EntropyCoefficient or TopEntropyQuantile is set; the CUDA kernel has no entropy terms";
            return false;
        }

        reason = null;
        return true;
    }

    public PolicyLossResult Compute(PolicyLossInputs inputs, PolicyLossOptions options)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(options);
        options.ValidatedKernel();
        PolicyLossValidation.Validate(inputs, options);
        return ComputeValidated(inputs, options);
    }

    public PolicyLossResult ComputeValidated(PolicyLossInputs inputs, PolicyLossOptions options)
    {
        bool cuda = CanRun(inputs, options, out string? reason);
        CudaKernelChoice.Record(Contract, reason);
        return cuda ? Run(inputs, options) : FusedTensorPolicyLoss.Compute(inputs, options);
    }

    /// <summary>Runs the CUDA kernels on validated inputs that <see cref="CanRun"/> accepted.</summary>
    internal static PolicyLossResult Run(PolicyLossInputs inputs, PolicyLossOptions options)
    {
        using var scope = NewDisposeScope();
        bool needsGradient = inputs.LogProbs.requires_grad && is_grad_enabled();
        var call = new FusedPolicyLossCall(inputs, options, needsGradient);
        Tensor loss = CudaPolicyLossFunction.apply(inputs.LogProbs, call);
        var statistics = FusedTensorPolicyLoss.Statistics(call.Summary!, call.Layout!, inputs, options);
        return new PolicyLossResult(loss.MoveToOuterDisposeScope(), statistics);
    }
}
