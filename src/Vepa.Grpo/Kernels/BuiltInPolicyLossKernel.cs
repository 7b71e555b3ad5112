namespace Vepa.Grpo.Kernels;

/// <summary>One of Vepa's policy-loss kernels behind the <see cref="IPolicyLossKernel"/> contract: "fused-tensor", "managed",
/// and "auto", the automatic choice between them (and the CUDA kernel, when opted in).</summary>
internal sealed class BuiltInPolicyLossKernel : IValidatedPolicyLossKernel
{
    /// <summary>The fused tensor kernel: one custom autograd function of device-agnostic tensor ops.</summary>
    public static readonly BuiltInPolicyLossKernel FusedTensor = new("fused-tensor", Kind.FusedTensor);

    /// <summary>The managed single-pass kernel over contiguous CPU float32/float64 tensors.</summary>
    public static readonly BuiltInPolicyLossKernel Managed = new("managed", Kind.Managed);

    /// <summary>The automatic choice: managed where it can run; on CUDA tensors the CUDA kernel with <c>VEPA_CUDA_KERNELS=1</c>;
    /// otherwise the fused tensor kernel.</summary>
    public static readonly BuiltInPolicyLossKernel Auto = new(PolicyLossKernelChoice.AutoName, Kind.Auto);

    private readonly Kind _kind;

    private BuiltInPolicyLossKernel(string name, Kind kind)
    {
        Name = name;
        _kind = kind;
    }

    private enum Kind
    {
        Auto,
        FusedTensor,
        Managed,
    }

    public string Name { get; }

    public bool Supports(PolicyLossInputs inputs, PolicyLossOptions options, out string? reason)
    {
        if (_kind == Kind.Managed)
        {
            return ManagedPolicyLoss.CanRunAfterConversion(inputs, out reason);
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

    public PolicyLossResult ComputeValidated(PolicyLossInputs inputs, PolicyLossOptions options) => _kind switch
    {
        Kind.Managed => ManagedPolicyLoss.CanRunAfterConversion(inputs, out string? why)
            ? ManagedPolicyLoss.Compute(inputs, options)
            : throw new ArgumentException($"The managed kernel cannot run on these inputs: {why}", nameof(inputs)),
        Kind.FusedTensor => FusedTensorPolicyLoss.Compute(inputs, options),
        _ => Choose(inputs).ComputeValidated(inputs, options),
    };

    /// <summary>The kernel the automatic choice runs on these validated inputs: the CUDA kernel for CUDA tensors when
    /// <c>VEPA_CUDA_KERNELS=1</c> (it falls back to the fused tensor kernel where it cannot run, logged once), the managed kernel
    /// where it can run (contiguous CPU float32/float64 log-probs, the other tensors on the CPU), else the fused tensor kernel.</summary>
    internal static IValidatedPolicyLossKernel Choose(PolicyLossInputs inputs)
    {
        if (Cuda.CudaKernels.ChoosesCudaPolicyLoss(inputs))
        {
            return Cuda.CudaKernels.PolicyLoss;
        }

        return ManagedPolicyLoss.CanRunAfterConversion(inputs, out _) ? Managed : FusedTensor;
    }
}
