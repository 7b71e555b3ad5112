using System.Globalization;
using TorchSharp;
using static TorchSharp.torch;

namespace Vepa.Grpo;

/// <summary>Argument checks of <see cref="TokenLogProbs"/>; every message names the argument and the actual shape, dtype, device or value.</summary>
internal static class TokenLogProbValidation
{
    /// <summary>Checks the inputs of <see cref="TokenLogProbs.FromLogits(Tensor, Tensor, double, int?, bool)"/>.</summary>
    internal static void ValidateLogits(Tensor logits, Tensor targets, double temperature, int? chunkSize, bool shift = false)
    {
        ArgumentNullException.ThrowIfNull(logits);
        ArgumentNullException.ThrowIfNull(targets);
        if (logits.ndim != 3)
        {
            throw new ArgumentException($"logits must have shape [B, T, V] (rank 3); got rank {logits.ndim} with shape {Shape(logits)}.", nameof(logits));
        }

        RequireFloat(logits, nameof(logits));
        if (logits.shape[2] < 1)
        {
            throw new ArgumentException($"logits must have a vocabulary dimension V >= 1; got shape {Shape(logits)}.", nameof(logits));
        }

        ValidateTargets(targets, logits.shape[0], logits.shape[1], shift, "logits", Shape(logits));
        RequireSameDevice(logits, nameof(logits), targets, nameof(targets));
        ValidateScalars(temperature, chunkSize);
        ValidateTargetRange(targets, logits.shape[2]);
    }

    /// <summary>Checks the inputs of <see cref="TokenLogProbs.FromHiddenStates(Tensor, Tensor, Tensor, Tensor?, double, int?, bool)"/>.</summary>
    internal static void ValidateHiddenStates(
        Tensor hidden, Tensor weight, Tensor targets, Tensor? bias, double temperature, int? chunkSize, bool shift = false)
    {
        ArgumentNullException.ThrowIfNull(hidden);
        ArgumentNullException.ThrowIfNull(weight);
        ArgumentNullException.ThrowIfNull(targets);
        if (hidden.ndim != 3)
        {
            throw new ArgumentException($"hidden must have shape [B, T, H] (rank 3); got rank {hidden.ndim} with shape {Shape(hidden)}.", nameof(hidden));
        }

        if (weight.ndim != 2)
        {
            throw new ArgumentException($"weight must have shape [V, H] (rank 2); got rank {weight.ndim} with shape {Shape(weight)}.", nameof(weight));
        }

        RequireFloat(hidden, nameof(hidden));
        if (weight.dtype != hidden.dtype)
        {
            throw new ArgumentException($"weight must have the dtype of hidden ({hidden.dtype}); got {weight.dtype}.", nameof(weight));
        }

        if (weight.shape[1] != hidden.shape[2])
        {
            throw new ArgumentException(
                $"weight must have H = {hidden.shape[2]} columns to match hidden {Shape(hidden)}; got weight {Shape(weight)}.", nameof(weight));
        }

        if (weight.shape[0] < 1)
        {
            throw new ArgumentException($"weight must have a vocabulary dimension V >= 1; got shape {Shape(weight)}.", nameof(weight));
        }

        if (bias is not null)
        {
            if (bias.ndim != 1 || bias.shape[0] != weight.shape[0])
            {
                throw new ArgumentException($"bias must have shape [V] = [{weight.shape[0]}]; got {Shape(bias)}.", nameof(bias));
            }

            if (bias.dtype != hidden.dtype)
            {
                throw new ArgumentException($"bias must have the dtype of hidden ({hidden.dtype}); got {bias.dtype}.", nameof(bias));
            }
        }

        ValidateTargets(targets, hidden.shape[0], hidden.shape[1], shift, "hidden", Shape(hidden));
        RequireSameDevice(hidden, nameof(hidden), weight, nameof(weight));
        if (bias is not null)
        {
            RequireSameDevice(hidden, nameof(hidden), bias, nameof(bias));
        }

        RequireSameDevice(hidden, nameof(hidden), targets, nameof(targets));
        ValidateScalars(temperature, chunkSize);
        ValidateTargetRange(targets, weight.shape[0]);
    }

    /// <summary>Throws when <paramref name="other"/> is on another device than <paramref name="reference"/>.</summary>
    internal static void RequireSameDevice(Tensor reference, string referenceName, Tensor other, string otherName)
    {
        if (reference.device_type != other.device_type || reference.device_index != other.device_index)
        {
            throw new ArgumentException(
                $"{otherName} must be on the same device as {referenceName} ({reference.device}); got {other.device}.", otherName);
        }
    }

    /// <summary>Returns a shape as "[2, 3, 5]".</summary>
    internal static string Shape(Tensor tensor) => "[" + string.Join(", ", tensor.shape) + "]";

    private static void RequireFloat(Tensor tensor, string name)
    {
        if (tensor.dtype is not (ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Float32 or ScalarType.Float64))
        {
            throw new ArgumentException($"{name} must be float16, bfloat16, float32 or float64; got {tensor.dtype}.", name);
        }
    }

    private static void ValidateTargets(Tensor targets, long batch, long positions, bool shift, string name, string shape)
    {
        if (shift && positions < 2)
        {
            throw new ArgumentException(
                $"{name} must have at least 2 positions when shift is true (T + 1 positions for T targets); got {shape}.", name);
        }

        long time = shift ? positions - 1 : positions;
        string owner = name == "logits" ? "logits'" : name + "'s";
        string what = shift
            ? $"{owner} first dimension and its positions minus one, since shift is true ({name} {shape})"
            : $"{owner} first two dimensions ({name} {shape})";
        if (targets.dtype is not (ScalarType.Int64 or ScalarType.Int32))
        {
            throw new ArgumentException($"targets must hold integer token ids (int64 or int32); got {targets.dtype}.", nameof(targets));
        }

        if (targets.ndim != 2 || targets.shape[0] != batch || targets.shape[1] != time)
        {
            throw new ArgumentException(
                $"targets must have shape [B, T] = [{batch}, {time}] ({what}); got {Shape(targets)}.", nameof(targets));
        }
    }

    private static void ValidateScalars(double temperature, int? chunkSize)
    {
        if (!double.IsFinite(temperature) || temperature <= 0)
        {
            throw new ArgumentOutOfRangeException(
                nameof(temperature), temperature, $"temperature must be finite and > 0; got {temperature.ToString(CultureInfo.InvariantCulture)}.");
        }

        if (chunkSize is int rows && rows < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(chunkSize), rows, $"chunkSize must be at least 1 row; got {rows}.");
        }
    }

    // One min/max reduction over the B·T ids (one device-to-host read of two scalars).
    private static void ValidateTargetRange(Tensor targets, long vocabulary)
    {
        if (targets.numel() == 0)
        {
            return;
        }

        using var scope = NewDisposeScope();
        var (min, max) = targets.aminmax();
        long lowest = min.to(ScalarType.Int64).item<long>();
        long highest = max.to(ScalarType.Int64).item<long>();
        if (lowest < 0 || highest >= vocabulary)
        {
            throw new ArgumentOutOfRangeException(
                nameof(targets),
                $"targets must hold token ids in [0, V) = [0, {vocabulary}); got ids from {lowest} to {highest}.");
        }
    }
}
