using TorchSharp;

namespace Vepa.Grpo.Kernels;

/// <summary>One of Vepa's advantage kernels behind the <see cref="IAdvantageKernel"/> contract.</summary>
internal sealed class BuiltInAdvantageKernel : IAdvantageKernel
{
    private readonly AdvantageKernel _kernel;

    public BuiltInAdvantageKernel(string name, AdvantageKernel kernel)
    {
        Name = name;
        _kernel = kernel;
    }

    public string Name { get; }

    public torch.Tensor Compute(torch.Tensor rewards, AdvantageOptions options)
    {
        var o = new AdvantageOptions
        {
            Normalization = options.Normalization,
            Epsilon = options.Epsilon,
            GroupSize = options.GroupSize,
            Combination = options.Combination,
            Kernel = _kernel,
        };
        using var result = GroupAdvantages.Compute(rewards, o);
        return result.Advantages.alias();
    }
}
