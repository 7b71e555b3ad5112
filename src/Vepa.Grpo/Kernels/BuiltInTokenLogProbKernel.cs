using TorchSharp;

namespace Vepa.Grpo.Kernels;

/// <summary><see cref="TokenLogProbs.FromLogits(torch.Tensor, torch.Tensor, double, int?, bool)"/> or its overwriting variant behind the <see cref="ITokenLogProbKernel"/> contract.</summary>
internal sealed class BuiltInTokenLogProbKernel : ITokenLogProbKernel
{
    private readonly bool _overwrite;

    public BuiltInTokenLogProbKernel(string name, bool overwrite)
    {
        Name = name;
        _overwrite = overwrite;
    }

    public string Name { get; }

    public torch.Tensor Compute(torch.Tensor logits, torch.Tensor targets, double temperature)
        => _overwrite
            ? TokenLogProbs.FromLogitsOverwritingLogits(logits, targets, temperature)
            : TokenLogProbs.FromLogits(logits, targets, temperature);
}
