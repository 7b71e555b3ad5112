using TorchSharp;
using static TorchSharp.torch;

namespace Vepa.Grpo.Tests.Training;

/// <summary>
/// The hand-written GRPO step (the TinyVepa loop) in plain tensor ops and plain C#: full logits and log_softmax, advantages from
/// the group formula, the clipped surrogate with k3, sequence-mean of token-mean, clipping by hand, torch's AdamW. It shares no
/// code with the trainer beyond the module and the optimizer.
/// </summary>
internal static class PlainGrpoReference
{
    /// <summary>Per-token log-probs [B, T] of the completions given the prompts (all prompts of one length, no prefix).</summary>
    public static Tensor LogProbs(TinyCausalModule module, long[,] promptIds, Tensor completions, double temperature)
        => LogProbsAndEntropy(module, promptIds, completions, temperature).LogProbs;

    /// <summary>Per-token log-probs and the entropy −Σ p log p of softmax(logits / τ), both [B, T].</summary>
    public static (Tensor LogProbs, Tensor Entropy) LogProbsAndEntropy(TinyCausalModule module, long[,] promptIds, Tensor completions, double temperature)
    {
        var prompts = tensor(Flatten(promptIds), [promptIds.GetLength(0), promptIds.GetLength(1)], ScalarType.Int64);
        long length = completions.shape[1], context = prompts.shape[1];
        var input = cat([prompts, completions.narrow(1, 0, length - 1)], 1);
        var hidden = module.Forward(null, input, null).narrow(1, context - 1, length);
        var logits = hidden.matmul(module.LmHeadWeight.t()) / temperature;
        var logSoftmax = logits.log_softmax(-1);
        return (logSoftmax.gather(-1, completions.unsqueeze(-1)).squeeze(-1), -(logSoftmax.exp() * logSoftmax).sum(-1));
    }

    /// <summary>GRPO advantages (R − mean) / (std + ε) per group, std with n − 1; a group whose rewards are all equal gets 0.</summary>
    public static double[] Advantages(double[] rewards, int groupSize, double epsilon)
    {
        var advantages = new double[rewards.Length];
        for (int p = 0; p < rewards.Length / groupSize; p++)
        {
            var group = rewards.Skip(p * groupSize).Take(groupSize).ToArray();
            double mean = group.Average();
            double std = Math.Sqrt(group.Sum(r => (r - mean) * (r - mean)) / (groupSize - 1));
            for (int g = 0; g < groupSize; g++)
            {
                advantages[(p * groupSize) + g] = std == 0 ? 0 : (group[g] - mean) / (std + epsilon);
            }
        }

        return advantages;
    }

    /// <summary>The clipped surrogate with β·k3, reduced as the mean over sequences of the token-mean; with an entropy, TRL's
    /// top-entropy mask on the surrogate (before β·k3) and verl's bonus − c · (the same mean of H).</summary>
    public static Tensor Loss(
        Tensor logProbs, Tensor old, Tensor? reference, Tensor advantages, Tensor mask, double epsilon, double beta,
        Tensor? entropy = null, double entropyCoefficient = 0, double topEntropyQuantile = 1)
    {
        var ratio = (logProbs - old).exp();
        var a = advantages.unsqueeze(1);
        var perToken = -minimum(ratio * a, ratio.clamp(1 - epsilon, 1 + epsilon) * a);
        if (topEntropyQuantile < 1)
        {
            perToken = perToken * ReferencePolicyLoss.TopEntropyMask(entropy!.detach(), mask, topEntropyQuantile).to(logProbs.dtype);
        }

        if (reference is not null)
        {
            var d = reference - logProbs;
            perToken = perToken + (beta * (d.exp() - d - 1));
        }

        var m = mask.to(logProbs.dtype);
        var loss = ((perToken * m).sum(1) / m.sum(1).clamp_min(1)).mean();
        return entropyCoefficient > 0 ? loss - (entropyCoefficient * ((entropy! * m).sum(1) / m.sum(1).clamp_min(1)).mean()) : loss;
    }

    /// <summary>Scales the gradients to a total norm of at most <paramref name="max"/> (torch's formula: coefficient max / (norm + 1e-6), capped at 1).</summary>
    public static void ClipGradients(IEnumerable<TorchSharp.Modules.Parameter> parameters, double max)
    {
        using var noGrad = no_grad();
        var grads = parameters.Where(p => p.grad is not null).Select(p => p.grad!).ToArray();
        double norm = Math.Sqrt(grads.Sum(g => g.square().sum().item<double>()));
        double coefficient = Math.Min(1.0, max / (norm + 1e-6));
        foreach (var g in grads)
        {
            g.mul_(coefficient);
        }
    }

    private static long[] Flatten(long[,] values)
    {
        var flat = new long[values.Length];
        int i = 0;
        foreach (long v in values)
        {
            flat[i++] = v;
        }

        return flat;
    }
}
