using TorchSharp;
using Vepa.Grpo.Kernels;
using static TorchSharp.torch;

namespace Vepa.Grpo;

/// <summary>
/// <see cref="GroupAdvantages"/> through a kernel that only knows the <see cref="IAdvantageKernel"/> contract (one reward per
/// rollout, [P, G]): the components are combined first, the kernel computes the advantages, and the zero-signal statistics
/// and the infinity check come from the combined rewards, judged as the tensor kernel judges them.
/// </summary>
internal static class RegisteredAdvantageKernel
{
    public static AdvantageResult Compute(IAdvantageKernel kernel, AdvantageBatch batch, AdvantageOptions options)
    {
        if (batch.NormalizesComponentsFirst(options))
        {
            throw new ArgumentException(
                $"The {kernel.Name} advantage kernel takes one combined reward per rollout; Combination = NormalizeThenSum over {batch.Components.Length} " +
                "reward components needs one of Vepa's kernels (Kernel = null, \"tensor\" or \"managed\").",
                nameof(options));
        }

        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        int p = batch.GroupCount;
        int g = batch.GroupSize;
        ScalarType compute = batch.Device.type == DeviceType.MPS ? ScalarType.Float32 : ScalarType.Float64;
        var x = new Tensor[batch.Components.Length];
        for (int k = 0; k < x.Length; k++)
        {
            x[k] = batch.Components[k].detach().reshape(p, g);
        }

        // A single reward goes to the kernel as it came (reshaped); several are summed in float64 (float32 on MPS).
        Tensor rewards = batch.IsPlain ? x[0] : TensorAdvantageKernel.WeightedSum([.. x.Select(xk => xk.to(compute))], batch.Weights);
        Tensor combined = rewards.to(compute);
        Tensor invalid = combined.isnan();
        Tensor zero = TensorAdvantageKernel.ZeroSignal(combined, invalid, options.Normalization);
        var counts = new List<Tensor>(x.Length + 3) { zero.sum(), invalid.sum(), combined.isinf().sum() };
        counts.AddRange(x.Select(xk => xk.isinf().sum()));
        long[] host = stack(counts).cpu().data<long>().ToArray();
        if (host.Skip(2).Any(count => count > 0))
        {
            AdvantageValidation.ThrowInfinite(batch, host[2]);
        }

        Tensor advantages = kernel.Compute(rewards, options)
            ?? throw new InvalidOperationException($"The {kernel.Name} advantage kernel returned null.");
        if (advantages.dim() != 2 || advantages.shape[0] != p || advantages.shape[1] != g || advantages.device.ToString() != batch.Device.ToString())
        {
            throw new InvalidOperationException(
                $"The {kernel.Name} advantage kernel returned {AdvantageValidation.Format(advantages.shape)} on {advantages.device}; " +
                $"its contract is [P, G] = [{p}, {g}] on the rewards' device {batch.Device}.");
        }

        Tensor output = advantages.detach().to(batch.DType).reshape(batch.Shape);
        Tensor flags = zero.reshape(p);
        return new AdvantageResult(output.MoveToOuterDisposeScope(), flags.MoveToOuterDisposeScope(), g, (int)host[0], (int)host[1]);
    }
}
