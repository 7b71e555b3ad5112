using System.Globalization;
using TorchSharp;

namespace Vepa.Grpo;

/// <summary>Argument checks shared by both advantage kernels, and the error raised for infinite rewards.</summary>
internal static class AdvantageValidation
{
    /// <summary>Checks the components, weights and options and works out P and G.</summary>
    /// <param name="components">The reward tensors.</param>
    /// <param name="weights">One weight per tensor.</param>
    /// <param name="options">Validated options.</param>
    /// <param name="paramName">"rewards" or "components".</param>
    /// <returns>The validated batch.</returns>
    public static AdvantageBatch Validate(IReadOnlyList<torch.Tensor> components, IReadOnlyList<double> weights, AdvantageOptions options, string paramName)
    {
        bool single = paramName == "rewards";
        string Name(int k) => single ? "rewards" : $"{paramName}[{k}]";

        if (components.Count == 0)
        {
            throw new ArgumentException($"{paramName} must hold at least one reward tensor; got none.", paramName);
        }

        if (weights.Count != components.Count)
        {
            throw new ArgumentException(
                $"weights must hold one weight per component: {paramName} has {components.Count} tensor(s) but weights has {weights.Count} value(s).",
                nameof(weights));
        }

        var tensors = new torch.Tensor[components.Count];
        var w = new double[weights.Count];
        for (int k = 0; k < components.Count; k++)
        {
            tensors[k] = components[k] ?? throw new ArgumentException($"{Name(k)} is null.", paramName);
            w[k] = weights[k];
            if (!double.IsFinite(w[k]))
            {
                throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"weights[{k}] must be finite; got {w[k]}."), nameof(weights));
            }
        }

        torch.Tensor first = tensors[0];
        CheckDType(first, Name(0), paramName);
        long[] shape = first.shape;
        torch.ScalarType dtype = first.dtype;
        torch.Device device = first.device;
        for (int k = 1; k < tensors.Length; k++)
        {
            torch.Tensor t = tensors[k];
            CheckDType(t, Name(k), paramName);
            if (!t.shape.AsSpan().SequenceEqual(shape))
            {
                throw new ArgumentException(
                    $"Every component must have the same shape: {Name(k)} has shape {Format(t.shape)} but {Name(0)} has shape {Format(shape)}.",
                    paramName);
            }

            if (t.device_type != first.device_type || t.device_index != first.device_index)
            {
                throw new ArgumentException(
                    $"Every component must be on the same device: {Name(k)} is on {t.device} but {Name(0)} is on {device}.", paramName);
            }

            if (t.dtype != dtype)
            {
                throw new ArgumentException(
                    $"Every component must have the same dtype: {Name(k)} is {t.dtype} but {Name(0)} is {dtype}.", paramName);
            }
        }

        string what = single ? "rewards" : $"Every component ({Name(0)})";
        long groupSize;
        long groupCount;
        switch (shape.Length)
        {
            case 2:
                groupCount = shape[0];
                groupSize = shape[1];
                if (groupSize < AdvantageConstants.MinGroupSize)
                {
                    throw new ArgumentException(
                        $"{what} must have at least {AdvantageConstants.MinGroupSize} rollouts per group (G >= 2); got shape [P, G] = {Format(shape)}.",
                        paramName);
                }

                if (options.GroupSize is int g2 && g2 != groupSize)
                {
                    throw new ArgumentException(
                        $"options.GroupSize is {g2} but {what} has shape [P, G] = {Format(shape)} (G = {groupSize}); leave GroupSize unset or make it equal G.",
                        "options");
                }

                break;
            case 1:
                if (options.GroupSize is not int g1)
                {
                    throw new ArgumentException(
                        $"{what} is flat ({Format(shape)}): set options.GroupSize to the number of rollouts per prompt, or pass shape [P, G].",
                        "options");
                }

                groupSize = g1;
                if (shape[0] % g1 != 0)
                {
                    throw new ArgumentException(
                        $"{what} has length {shape[0]}, which is not divisible by GroupSize = {g1} (remainder {shape[0] % g1}).", paramName);
                }

                groupCount = shape[0] / g1;
                break;
            default:
                throw new ArgumentException(
                    $"{what} must have shape [P, G] or [P*G] (rank 2 or 1); got rank {shape.Length}, shape {Format(shape)}.", paramName);
        }

        if (groupCount == 0)
        {
            throw new ArgumentException($"{what} must hold at least one group; got shape {Format(shape)}.", paramName);
        }

        if (groupCount * groupSize > int.MaxValue)
        {
            throw new ArgumentException($"{what} has {groupCount * groupSize} rewards; at most {int.MaxValue} are supported.", paramName);
        }

        return new AdvantageBatch(tensors, w, (int)groupCount, (int)groupSize, paramName);
    }

    /// <summary>Throws the error for infinite rewards (or an overflowing weighted sum), naming the tensor, the count and the first position.</summary>
    /// <param name="batch">The batch.</param>
    /// <param name="combinedOverflowCount">How many weighted sums overflowed (0 when the components themselves hold the infinities).</param>
    /// <exception cref="ArgumentException">Always.</exception>
    public static void ThrowInfinite(AdvantageBatch batch, long combinedOverflowCount)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        for (int k = 0; k < batch.Components.Length; k++)
        {
            torch.Tensor inf = batch.Components[k].detach().reshape(-1).isinf();
            long count = inf.sum().item<long>();
            if (count > 0)
            {
                long at = inf.nonzero()[0, 0].item<long>();
                throw new ArgumentException(
                    $"{batch.NameOf(k)} holds {count} infinite value(s), the first at flat index {at}; a reward that could not be computed must be NaN, not infinity.",
                    batch.ParamName);
            }
        }

        throw new ArgumentException(
            $"The weighted sum of {batch.ParamName} overflows to infinity at {combinedOverflowCount} rollout(s); scale the rewards or the weights down.",
            batch.ParamName);
    }

    /// <summary>Formats a shape as "[a, b]".</summary>
    /// <param name="shape">The shape.</param>
    /// <returns>The text.</returns>
    public static string Format(long[] shape) => "[" + string.Join(", ", shape) + "]";

    private static void CheckDType(torch.Tensor t, string name, string paramName)
    {
        if (t.dtype is not (torch.ScalarType.Float32 or torch.ScalarType.Float64 or torch.ScalarType.BFloat16 or torch.ScalarType.Float16))
        {
            throw new ArgumentException($"{name} must be float32, float64, bfloat16 or float16; got {t.dtype}.", paramName);
        }
    }
}
