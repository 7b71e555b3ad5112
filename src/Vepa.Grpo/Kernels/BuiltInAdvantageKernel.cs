using TorchSharp;

namespace Vepa.Grpo.Kernels;

/// <summary>One of Vepa's advantage kernels behind the <see cref="IAdvantageKernel"/> contract: "tensor", "managed", and "auto",
/// the automatic choice between them (and the CUDA kernel, when opted in).</summary>
internal sealed class BuiltInAdvantageKernel : IValidatedAdvantageKernel
{
    /// <summary>A short sequence of device-agnostic tensor ops (CPU, CUDA, any floating dtype).</summary>
    public static readonly BuiltInAdvantageKernel Tensor = new("tensor", Kind.Tensor);

    /// <summary>A single-pass managed kernel over contiguous CPU float32/float64 tensors; refuses other inputs.</summary>
    public static readonly BuiltInAdvantageKernel Managed = new("managed", Kind.Managed);

    /// <summary>The automatic choice: on CUDA rewards the CUDA kernel with <c>VEPA_CUDA_KERNELS=1</c>; the managed kernel where
    /// it can run; otherwise the tensor kernel.</summary>
    public static readonly BuiltInAdvantageKernel Auto = new(KernelChoice.AutoName, Kind.Auto);

    private readonly Kind _kind;

    private BuiltInAdvantageKernel(string name, Kind kind)
    {
        Name = name;
        _kind = kind;
    }

    private enum Kind
    {
        Auto,
        Tensor,
        Managed,
    }

    public string Name { get; }

    public torch.Tensor Compute(torch.Tensor rewards, AdvantageOptions options)
    {
        ArgumentNullException.ThrowIfNull(rewards);
        ArgumentNullException.ThrowIfNull(options);
        options.ValidatedKernel();
        using AdvantageResult result = ComputeValidated(AdvantageValidation.Validate([rewards], [1.0], options, nameof(rewards)), options);
        return result.Advantages.alias();
    }

    public AdvantageResult ComputeValidated(AdvantageBatch batch, AdvantageOptions options) => _kind switch
    {
        Kind.Tensor => TensorAdvantageKernel.Compute(batch, options),
        Kind.Managed => ManagedAdvantageKernel.CanRun(batch, out string? why)
            ? ManagedAdvantageKernel.Compute(batch, options)
            : throw new ArgumentException($"The managed advantage kernel cannot run on these inputs: {why}", batch.ParamName),
        _ => ChoosesCuda(batch, options)
            ? RegisteredAdvantageKernel.Compute(Cuda.CudaKernels.Advantages, batch, options)
            : Choose(batch).ComputeValidated(batch, options),
    };

    /// <summary>The CPU kernel the automatic choice runs: the managed kernel where it can run (contiguous CPU float32/float64
    /// rewards), else the tensor kernel.</summary>
    internal static BuiltInAdvantageKernel Choose(AdvantageBatch batch) => ManagedAdvantageKernel.CanRun(batch, out _) ? Managed : Tensor;

    /// <summary>Whether the automatic choice runs the CUDA kernel: CUDA rewards with the <c>VEPA_CUDA_KERNELS=1</c> opt-in, and
    /// one reward per rollout to normalise (normalise-then-sum over several components stays with the tensor kernel).</summary>
    internal static bool ChoosesCuda(AdvantageBatch batch, AdvantageOptions options)
        => Cuda.CudaKernels.OptedIn(batch.Device.type) && !batch.NormalizesComponentsFirst(options);
}
