using System.Globalization;
using TorchSharp;
using Vepa.Grpo;

namespace Vepa.Benchmarks;

/// <summary>Seeded GRPO-like loss inputs for the policy-loss benchmarks (float32, VEPA's configuration).</summary>
internal static class PolicyLossBenchmarkData
{
    /// <summary>The configuration VEPA trains with: token-level clip (ε = 0.2), k3 KL with β = 0.01, sequence-mean of token-mean.</summary>
    /// <param name="kernel">The kernel to run.</param>
    /// <returns>The options.</returns>
    public static PolicyLossOptions VepaOptions(string kernel) => new()
    {
        Objective = PolicyObjective.Clip,
        RatioLevel = RatioLevel.Token,
        Beta = 0.01,
        KlEstimator = KlEstimator.K3,
        Aggregation = LossAggregation.SequenceMeanTokenMean,
        Kernel = kernel,
    };

    /// <summary>Parses "BxT".</summary>
    /// <param name="shape">The shape text, e.g. "64x1024".</param>
    /// <returns>B and T.</returns>
    public static (int B, int T) Parse(string shape)
    {
        string[] parts = shape.Split('x');
        return (int.Parse(parts[0], CultureInfo.InvariantCulture), int.Parse(parts[1], CultureInfo.InvariantCulture));
    }

    /// <summary>
    /// Builds float32 inputs [B, T]: log-probs in [−2.55, −0.05] (a leaf that requires grad), old and reference log-probs
    /// nearby (σ = 0.3 and 0.1: some ratios clipped), per-sequence advantages ~ N(0, 1), and a bool mask whose rows have
    /// random completion lengths in [T/2, T] (padding at the end holds 0, as in a real batch).
    /// </summary>
    /// <param name="b">Rows B.</param>
    /// <param name="t">Tokens T.</param>
    /// <param name="seed">The seed.</param>
    /// <returns>The inputs; the caller disposes their tensors.</returns>
    public static PolicyLossInputs Create(int b, int t, int seed)
    {
        var generator = new torch.Generator((ulong)seed);
        using var scope = torch.NewDisposeScope();
        var logProbs = (torch.rand(b, t, generator: generator) * -2.5f) - 0.05f;
        var old = logProbs + (0.3f * torch.randn(b, t, generator: generator));
        var reference = logProbs + (0.1f * torch.randn(b, t, generator: generator));
        var lengths = torch.randint(t / 2, t + 1, [b, 1], generator: generator);
        var mask = torch.arange(t).unsqueeze(0).lt(lengths);
        var padding = mask.logical_not();
        var inputs = new PolicyLossInputs
        {
            LogProbs = logProbs.masked_fill(padding, 0).contiguous().requires_grad_().DetachFromDisposeScope(),
            OldLogProbs = old.masked_fill(padding, 0).contiguous().DetachFromDisposeScope(),
            ReferenceLogProbs = reference.masked_fill(padding, 0).contiguous().DetachFromDisposeScope(),
            Advantages = torch.randn(b, generator: generator).DetachFromDisposeScope(),
            Mask = mask.contiguous().DetachFromDisposeScope(),
        };
        return inputs;
    }

    /// <summary>Disposes the inputs' tensors.</summary>
    /// <param name="inputs">The inputs.</param>
    public static void Dispose(PolicyLossInputs inputs)
    {
        inputs.LogProbs.Dispose();
        inputs.OldLogProbs?.Dispose();
        inputs.ReferenceLogProbs?.Dispose();
        inputs.SamplerLogProbs?.Dispose();
        inputs.Advantages.Dispose();
        inputs.Mask.Dispose();
    }

    /// <summary>
    /// The bytes one loss call must move at least: every input element it reads once (log-probs, old and reference
    /// log-probs: 4 bytes each; the bool mask: 1 byte; the per-sequence advantages: 4 bytes per row) plus the gradient
    /// dLoss/dLogProbs it writes once (4 bytes per token): 17·B·T + 4·B bytes in VEPA's float32 configuration.
    /// </summary>
    /// <param name="inputs">The inputs.</param>
    /// <returns>The byte count.</returns>
    public static long BytesMoved(PolicyLossInputs inputs)
    {
        long Size(torch.Tensor? x) => x is null ? 0 : x.numel() * x.element_size();
        return Size(inputs.LogProbs) + Size(inputs.OldLogProbs) + Size(inputs.ReferenceLogProbs) + Size(inputs.SamplerLogProbs)
            + Size(inputs.Advantages) + Size(inputs.Mask) + Size(inputs.LogProbs);
    }
}
