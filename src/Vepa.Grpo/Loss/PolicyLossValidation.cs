using System.Globalization;
using TorchSharp;
using static TorchSharp.torch;

namespace Vepa.Grpo;

/// <summary>Shape, dtype and device checks shared by every policy-loss kernel, and the slow path that names a bad value.</summary>
/// <remarks>
/// <see cref="Validate"/> reads only tensor metadata (no device sync). Values (NaN/infinity at valid positions, a float mask
/// that is not 0/1) are checked by the kernels inside their single pass; when a kernel finds a bad value it calls
/// <see cref="ThrowForInvalidValues"/>, which locates the first one and throws.
/// </remarks>
internal static class PolicyLossValidation
{
    private const string InputsName = "inputs";

    /// <summary>Checks shapes, dtypes, devices and the tensors the options need.</summary>
    /// <param name="inputs">The inputs.</param>
    /// <param name="options">The (already validated) options.</param>
    /// <exception cref="ArgumentException">A tensor has the wrong shape, dtype or device, or a needed tensor is missing.</exception>
    public static void Validate(PolicyLossInputs inputs, PolicyLossOptions options)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(options);

        Tensor logProbs = Required(inputs.LogProbs, nameof(PolicyLossInputs.LogProbs));
        if (logProbs.dim() != 2)
        {
            throw Error(nameof(PolicyLossInputs.LogProbs), $"LogProbs must have shape [B, T]; got {Shape(logProbs)}.");
        }

        long b = logProbs.shape[0];
        long t = logProbs.shape[1];
        if (b < 1 || t < 1)
        {
            throw Error(nameof(PolicyLossInputs.LogProbs), $"LogProbs must have B >= 1 and T >= 1; got {Shape(logProbs)}.");
        }

        RequireFloating(logProbs, nameof(PolicyLossInputs.LogProbs));
        Device device = logProbs.device;

        Tensor mask = Required(inputs.Mask, nameof(PolicyLossInputs.Mask));
        RequireShape(mask, nameof(PolicyLossInputs.Mask), b, t);
        if (mask.dtype is not (ScalarType.Bool or ScalarType.Byte or ScalarType.Int32 or ScalarType.Int64) && !mask.is_floating_point())
        {
            throw Error(
                nameof(PolicyLossInputs.Mask),
                $"Mask must be bool, an integer tensor (uint8, int32, int64) or a floating tensor holding 0/1; got {mask.dtype}.");
        }

        RequireDevice(mask, nameof(PolicyLossInputs.Mask), device);

        Tensor advantages = Required(inputs.Advantages, nameof(PolicyLossInputs.Advantages));
        bool advantagesOk = advantages.dim() switch
        {
            1 => advantages.shape[0] == b,
            2 => advantages.shape[0] == b && advantages.shape[1] == t,
            _ => false,
        };
        if (!advantagesOk)
        {
            throw Error(
                nameof(PolicyLossInputs.Advantages),
                $"Advantages must have shape [B] = [{b}] or [B, T] = [{b}, {t}]; got {Shape(advantages)}.");
        }

        RequireFloating(advantages, nameof(PolicyLossInputs.Advantages));
        RequireDevice(advantages, nameof(PolicyLossInputs.Advantages), device);

        bool samplerOn = options.SamplerCorrection != SamplerCorrectionMode.None;
        CheckOptional(inputs.OldLogProbs, nameof(PolicyLossInputs.OldLogProbs), b, t, device,
            samplerOn ? $"OldLogProbs are required when SamplerCorrection is {options.SamplerCorrection} (w = exp(old − sampler))." : null);
        if (options.Beta > 0)
        {
            CheckOptional(inputs.ReferenceLogProbs, nameof(PolicyLossInputs.ReferenceLogProbs), b, t, device,
                $"ReferenceLogProbs are required when Beta > 0 (Beta = {options.Beta.ToString(CultureInfo.InvariantCulture)}).");
        }

        if (samplerOn)
        {
            CheckOptional(inputs.SamplerLogProbs, nameof(PolicyLossInputs.SamplerLogProbs), b, t, device,
                $"SamplerLogProbs are required when SamplerCorrection is {options.SamplerCorrection}.");
        }

        if (EntropyTerms.Active(options))
        {
            CheckOptional(inputs.Entropy, nameof(PolicyLossInputs.Entropy), b, t, device, string.Create(
                CultureInfo.InvariantCulture,
                $"Entropy is required when EntropyCoefficient > 0 or TopEntropyQuantile < 1 (EntropyCoefficient = {options.EntropyCoefficient}, TopEntropyQuantile = {options.TopEntropyQuantile})."));
        }
    }

    /// <summary>
    /// Finds the first invalid value (a float mask value other than 0/1, or NaN/infinity at a valid position of a tensor
    /// the options use) and throws an <see cref="ArgumentException"/> naming the tensor and the position.
    /// Kernels call this only after their own pass counted at least one bad value; it costs several device syncs.
    /// </summary>
    /// <param name="inputs">The (already validated) inputs.</param>
    /// <param name="options">The options.</param>
    /// <exception cref="ArgumentException">Always (describing the first bad value found, or the overflow of a difference).</exception>
    public static void ThrowForInvalidValues(PolicyLossInputs inputs, PolicyLossOptions options)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(options);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();

        Tensor mask = inputs.Mask.detach();
        if (mask.dtype != ScalarType.Bool)
        {
            Tensor nonBinary = mask.ne(0).logical_and(mask.ne(1));
            if (FirstTrue(nonBinary, out long b, out long t, out long count))
            {
                double value = mask[b, t].to(ScalarType.Float64).item<double>();
                throw Error(
                    nameof(PolicyLossInputs.Mask),
                    $"Mask must hold only 0 and 1; found {Format(value)} at [{b}, {t}] ({count} such value(s)).");
            }
        }

        Tensor valid = mask.dtype == ScalarType.Bool ? mask : mask.ne(0);
        CheckFinite(inputs.LogProbs, nameof(PolicyLossInputs.LogProbs), valid);
        CheckFinite(inputs.OldLogProbs, nameof(PolicyLossInputs.OldLogProbs), valid);
        if (options.Beta > 0)
        {
            CheckFinite(inputs.ReferenceLogProbs, nameof(PolicyLossInputs.ReferenceLogProbs), valid);
        }

        if (options.SamplerCorrection != SamplerCorrectionMode.None)
        {
            CheckFinite(inputs.SamplerLogProbs, nameof(PolicyLossInputs.SamplerLogProbs), valid);
        }

        if (EntropyTerms.Active(options))
        {
            CheckFinite(inputs.Entropy, nameof(PolicyLossInputs.Entropy), valid);
        }

        if (inputs.Advantages.dim() == 1)
        {
            Tensor bad = inputs.Advantages.detach().isfinite().logical_not().logical_and(valid.any(1));
            if (FirstTrue(bad.unsqueeze(1), out long b, out _, out long count))
            {
                double value = inputs.Advantages[b].to(ScalarType.Float64).item<double>();
                throw Error(
                    nameof(PolicyLossInputs.Advantages),
                    $"Advantages holds {Format(value)} at [{b}], a sequence with valid tokens ({count} such sequence(s)).");
            }
        }
        else
        {
            CheckFinite(inputs.Advantages, nameof(PolicyLossInputs.Advantages), valid);
        }

        // Every value is finite, yet a difference of two of them (log π − old, ref − log π, old − sampler) overflowed.
        throw new ArgumentException(
            "The log-probs are finite but so large in magnitude that their differences overflow; log-probs must be moderate (<= 0) numbers.",
            InputsName);
    }

    private static void CheckFinite(Tensor? tensor, string name, Tensor valid)
    {
        if (tensor is null)
        {
            return;
        }

        Tensor bad = tensor.detach().isfinite().logical_not().logical_and(valid);
        if (FirstTrue(bad, out long b, out long t, out long count))
        {
            double value = tensor[b, t].to(ScalarType.Float64).item<double>();
            throw Error(
                name,
                $"{name} holds {Format(value)} at [{b}, {t}], a valid (masked-in) position ({count} such position(s)); only masked-out positions may hold NaN or infinity.");
        }
    }

    private static bool FirstTrue(Tensor flags, out long b, out long t, out long count)
    {
        count = flags.sum().item<long>();
        if (count == 0)
        {
            b = t = -1;
            return false;
        }

        // argmax returns the first maximal index, i.e. the first true flag in row-major order.
        long flat = flags.flatten().to(ScalarType.Int32).argmax().item<long>();
        long width = flags.shape[1];
        b = flat / width;
        t = flat % width;
        return true;
    }

    private static Tensor Required(Tensor? tensor, string name)
        => tensor is null || tensor.IsInvalid
            ? throw new ArgumentNullException($"{InputsName}.{name}", $"{name} is required.")
            : tensor;

    private static void CheckOptional(Tensor? tensor, string name, long b, long t, Device device, string? requiredBecause)
    {
        if (tensor is null || tensor.IsInvalid)
        {
            if (requiredBecause is not null)
            {
                throw Error(name, requiredBecause);
            }

            return;
        }

        RequireShape(tensor, name, b, t);
        RequireFloating(tensor, name);
        RequireDevice(tensor, name, device);
    }

    private static void RequireShape(Tensor tensor, string name, long b, long t)
    {
        if (tensor.dim() != 2 || tensor.shape[0] != b || tensor.shape[1] != t)
        {
            throw Error(name, $"{name} must have shape [B, T] = [{b}, {t}] like LogProbs; got {Shape(tensor)}.");
        }
    }

    private static void RequireFloating(Tensor tensor, string name)
    {
        if (tensor.dtype is not (ScalarType.Float32 or ScalarType.Float64 or ScalarType.BFloat16 or ScalarType.Float16))
        {
            throw Error(name, $"{name} must be float32, float64, bfloat16 or float16; got {tensor.dtype}.");
        }
    }

    private static void RequireDevice(Tensor tensor, string name, Device device)
    {
        Device actual = tensor.device;
        if (actual.type != device.type || actual.index != device.index)
        {
            throw Error(name, $"{name} is on {actual} but LogProbs is on {device}; all inputs must be on one device.");
        }
    }

    private static ArgumentException Error(string name, string message) => new(message, $"{InputsName}.{name}");

    private static string Shape(Tensor tensor) => "[" + string.Join(", ", tensor.shape) + "]";

    private static string Format(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}
