using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using TorchSharp;

namespace Vepa.Grpo;

/// <summary>The policy loss as a single-pass managed kernel over contiguous CPU tensors (SIMD over each row, rows in parallel).</summary>
/// <remarks>
/// One sweep computes ratio, objective, KL, sampler weight, the loss, every statistic and dLoss/dLogProbs; the loss is then
/// wrapped in an autograd node (<see cref="ManagedLossFunction"/>) that hands the saved gradient to backward. Results are
/// bit-for-bit deterministic (fixed row partition, reduction in row order).
/// </remarks>
internal static class ManagedPolicyLoss
{
    /// <summary>Checks whether the managed kernel can read the inputs in place.</summary>
    /// <param name="inputs">The (validated) inputs.</param>
    /// <param name="reason">Why it cannot, or <see langword="null"/>.</param>
    /// <returns><see langword="true"/> when every tensor is a contiguous CPU tensor of a supported dtype.</returns>
    public static bool CanRun(PolicyLossInputs inputs, [NotNullWhen(false)] out string? reason)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        var dtype = inputs.LogProbs.dtype;
        if (dtype is not (torch.ScalarType.Float32 or torch.ScalarType.Float64))
        {
            reason = $"LogProbs has dtype {dtype}; the managed kernel needs Float32 or Float64.";
            return false;
        }

        reason = CheckLayout("LogProbs", inputs.LogProbs)
            ?? CheckFloat("Advantages", inputs.Advantages, dtype)
            ?? CheckFloat("OldLogProbs", inputs.OldLogProbs, dtype)
            ?? CheckFloat("ReferenceLogProbs", inputs.ReferenceLogProbs, dtype)
            ?? CheckFloat("SamplerLogProbs", inputs.SamplerLogProbs, dtype)
            ?? CheckMask(inputs.Mask, dtype);
        return reason is null;
    }

    /// <summary>
    /// Checks whether the managed kernel can run once the constant inputs are converted: <see cref="PolicyLossInputs.LogProbs"/>
    /// must be a contiguous CPU float32/float64 tensor (it is read and its gradient written in place); every other tensor
    /// must be on the CPU, and is converted to the log-probs' dtype and made contiguous when it is not already
    /// (float64 advantages with float32 log-probs, an int64 HF <c>completion_mask</c>, a sliced reference tensor).
    /// </summary>
    /// <param name="inputs">The (validated) inputs.</param>
    /// <param name="reason">Why it cannot, or <see langword="null"/>.</param>
    /// <returns><see langword="true"/> when <see cref="Compute"/> can run on these inputs.</returns>
    public static bool CanRunAfterConversion(PolicyLossInputs inputs, [NotNullWhen(false)] out string? reason)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        var dtype = inputs.LogProbs.dtype;
        if (dtype is not (torch.ScalarType.Float32 or torch.ScalarType.Float64))
        {
            reason = $"LogProbs has dtype {dtype}; the managed kernel needs Float32 or Float64.";
            return false;
        }

        reason = CheckLayout("LogProbs", inputs.LogProbs)
            ?? CheckCpu("Advantages", inputs.Advantages)
            ?? CheckCpu("OldLogProbs", inputs.OldLogProbs)
            ?? CheckCpu("ReferenceLogProbs", inputs.ReferenceLogProbs)
            ?? CheckCpu("SamplerLogProbs", inputs.SamplerLogProbs)
            ?? CheckCpu("Mask", inputs.Mask);
        return reason is null;
    }

    /// <summary>
    /// Returns the inputs with every constant tensor in the form the kernel reads in place: the log-probs' dtype (a bool
    /// mask stays as it is; uint8/int32/int64 masks become the log-probs' dtype, so their values are still checked to be
    /// 0/1) and contiguous. Tensors already in that form are passed through; the converted ones belong to the
    /// caller's dispose scope. The conversion is exact with respect to the loss: every kernel computes in the log-probs'
    /// dtype anyway.
    /// </summary>
    /// <param name="inputs">The inputs; <see cref="CanRunAfterConversion"/> must have returned <see langword="true"/>.</param>
    /// <returns>Inputs on which <see cref="CanRun"/> returns <see langword="true"/>.</returns>
    public static PolicyLossInputs Convert(PolicyLossInputs inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        var dtype = inputs.LogProbs.dtype;
        torch.Tensor? Float(torch.Tensor? t) => t is null ? null : Contiguous(t.dtype == dtype ? t : t.to(dtype));
        var mask = inputs.Mask;
        var convertedMask = mask.dtype == torch.ScalarType.Bool || mask.dtype == dtype
            ? Contiguous(mask)
            : mask.to(dtype).contiguous();
        return inputs with
        {
            PolicyTokenMask = inputs.PolicyTokenMask is null ? null : Contiguous(inputs.PolicyTokenMask),
            Advantages = Float(inputs.Advantages)!,
            OldLogProbs = Float(inputs.OldLogProbs),
            ReferenceLogProbs = Float(inputs.ReferenceLogProbs),
            SamplerLogProbs = Float(inputs.SamplerLogProbs),
            Mask = convertedMask,
        };
    }

    /// <summary>Computes the loss, its statistics and (when LogProbs requires grad) its gradient in one sweep.</summary>
    /// <param name="inputs">The validated inputs; <see cref="CanRun"/> must have returned <see langword="true"/>.</param>
    /// <param name="options">The validated options.</param>
    /// <returns>The differentiable loss and the statistics.</returns>
    /// <exception cref="ArgumentException">A valid position holds NaN or infinity, or a float mask holds a value other than 0/1
    /// (the message, from <see cref="PolicyLossValidation.ThrowForInvalidValues"/>, names the tensor and the first bad position).</exception>
    public static PolicyLossResult Compute(PolicyLossInputs inputs, PolicyLossOptions options)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(options);
        using var scope = torch.NewDisposeScope();
        inputs = EntropyTerms.WithPolicyTokenMask(inputs, options);
        var original = inputs;
        inputs = Convert(inputs);
        var logProbs = inputs.LogProbs;
        bool needGradient = logProbs.requires_grad && torch.is_grad_enabled();
        var plan = ManagedLossPlan.Create(inputs, options, needGradient);
        var gradient = needGradient ? torch.empty_like(logProbs) : null;
        var buffers = new ManagedLossBuffers(
            Address(logProbs),
            Address(inputs.OldLogProbs),
            plan.UseKl ? Address(inputs.ReferenceLogProbs) : 0,
            plan.Sampler != SamplerCorrectionMode.None ? Address(inputs.SamplerLogProbs) : 0,
            Address(inputs.Advantages),
            Address(inputs.Mask),
            Address(gradient),
            Address(inputs.PolicyTokenMask));

        var (loss, statistics, invalid) = logProbs.dtype == torch.ScalarType.Float32
            ? new ManagedLossKernel<float>(plan, buffers).Run()
            : new ManagedLossKernel<double>(plan, buffers).Run();
        if (invalid)
        {
            PolicyLossValidation.ThrowForInvalidValues(inputs, options);
        }

        var lossTensor = gradient is null
            ? torch.tensor(loss, logProbs.dtype, logProbs.device)
            : ManagedLossFunction.apply(logProbs, new ManagedLossFunction.Precomputed(loss, gradient, original, options));
        var result = EntropyTerms.Finish(new PolicyLossResult(lossTensor, statistics), original, options);
        result.Loss.MoveToOuterDisposeScope();
        EntropyTerms.KeepWithLoss(result, original);
        return result;
    }

    private static unsafe nint Address(torch.Tensor? tensor)
    {
        if (tensor is null || tensor.numel() == 0)
        {
            return 0;
        }

        return (nint)Unsafe.AsPointer(ref MemoryMarshal.GetReference(tensor.bytes));
    }

    private static torch.Tensor Contiguous(torch.Tensor tensor) => tensor.is_contiguous() ? tensor : tensor.contiguous();

    private static string? CheckCpu(string name, torch.Tensor? tensor)
        => tensor is null || tensor.device_type == DeviceType.CPU
            ? null
            : $"{name} is on {tensor.device}; the managed kernel needs CPU tensors.";

    private static string? CheckFloat(string name, torch.Tensor? tensor, torch.ScalarType dtype)
    {
        if (tensor is null)
        {
            return null;
        }

        return tensor.dtype != dtype
            ? $"{name} has dtype {tensor.dtype} but LogProbs has {dtype}; the managed kernel needs one float dtype."
            : CheckLayout(name, tensor);
    }

    private static string? CheckMask(torch.Tensor mask, torch.ScalarType dtype)
    {
        return mask.dtype is torch.ScalarType.Bool or torch.ScalarType.Byte || mask.dtype == dtype
            ? CheckLayout("Mask", mask)
            : $"Mask has dtype {mask.dtype}; the managed kernel needs Bool, Byte or the dtype of LogProbs ({dtype}).";
    }

    private static string? CheckLayout(string name, torch.Tensor tensor)
    {
        if (tensor.device_type != DeviceType.CPU)
        {
            return $"{name} is on {tensor.device}; the managed kernel needs CPU tensors.";
        }

        if (!tensor.is_contiguous())
        {
            return $"{name} is not contiguous (shape [{string.Join(", ", tensor.shape)}], strides [{string.Join(", ", tensor.stride())}]); the managed kernel reads memory in place.";
        }

        if (tensor.numel() * tensor.element_size() > int.MaxValue)
        {
            return $"{name} holds {tensor.numel() * tensor.element_size()} bytes; the managed kernel handles at most {int.MaxValue} bytes per tensor.";
        }

        return null;
    }
}
