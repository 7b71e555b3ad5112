using TorchSharp;
using static TorchSharp.torch;

namespace Vepa.Grpo.Tests;

/// <summary>
/// verl's entropy bonus (<see cref="PolicyLossOptions.EntropyCoefficient"/>) and TRL's top-entropy mask
/// (<see cref="PolicyLossOptions.TopEntropyQuantile"/>): hand-computed values, the end-to-end gradient into the logits
/// against float64 plain ops, and the validation errors.
/// </summary>
public sealed class PolicyLossEntropyTests
{
    public static TheoryData<string> Kernels => new() { "managed", "fused-tensor" };

    [Fact]
    public void Defaults_leave_the_entropy_terms_off()
    {
        var options = new PolicyLossOptions();
        options.EntropyCoefficient.Should().Be(0);
        options.TopEntropyQuantile.Should().Be(1.0);
    }

    // One row, 10 valid tokens (2 padding) with entropies 1..10, on-policy (ρ = 1), A = 2, token mean: the policy term is
    // −A = −2 per token. ρ = 0.2: rank 0.8·9 = 7.2, threshold 8 + 0.2·(9 − 8) = 8.2, so tokens with H = 9, 10 keep it:
    // loss = 2·(−2)/10 = −0.4, dL/dlog π = −2/10 = −0.2 on those two tokens and exactly 0 elsewhere.
    [Theory]
    [MemberData(nameof(Kernels))]
    public void Top_entropy_quantile_keeps_the_policy_term_of_the_top_tokens_only(string kernel)
    {
        using var scope = NewDisposeScope();
        var (inputs, leaf) = TenTokens(ScalarType.Float64);
        var options = new PolicyLossOptions { Aggregation = LossAggregation.TokenMean, TopEntropyQuantile = 0.2, Kernel = kernel };

        using var result = PolicyLoss.Compute(inputs, options);
        result.Loss.item<double>().Should().BeApproximately(-0.4, 1e-15);
        result.Loss.backward();
        leaf.grad!.reshape(-1).data<double>().ToArray().Should().Equal(0, 0, 0, 0, 0, 0, 0, 0, -0.2, -0.2, 0, 0);
        result.Statistics.EntropyMaskedFraction.Should().BeApproximately(0.8, 1e-15);
        result.Statistics.TokenCount.Should().Be(10);
    }

    // ρ = 0: rank 9, threshold = max = 10; two tokens share it and both keep the policy term. The KL term (k1, β = 0.5)
    // stays on all 10 tokens: loss = (2·(−2) + 0.5·Σ(log π − ref)) / 10 with log π − ref = 0.1 everywhere.
    [Theory]
    [MemberData(nameof(Kernels))]
    public void Quantile_zero_keeps_only_the_highest_entropy_tokens_and_the_kl_term_everywhere(string kernel)
    {
        using var scope = NewDisposeScope();
        var (inputs, leaf) = TenTokens(ScalarType.Float64);
        inputs.Entropy![0, 3] = tensor(10.0);
        inputs = inputs with { ReferenceLogProbs = inputs.LogProbs.detach() - 0.1 };
        var options = new PolicyLossOptions
        {
            Aggregation = LossAggregation.TokenMean, TopEntropyQuantile = 0.0, Beta = 0.5, KlEstimator = KlEstimator.K1, Kernel = kernel,
        };

        using var result = PolicyLoss.Compute(inputs, options);
        result.Loss.item<double>().Should().BeApproximately(((2 * -2.0) + (0.5 * 10 * 0.1)) / 10, 1e-12);
        result.Loss.backward();
        var grad = leaf.grad!.reshape(-1).data<double>().ToArray();
        grad[3].Should().BeApproximately(-0.2 + 0.05, 1e-15);
        grad[9].Should().BeApproximately(-0.2 + 0.05, 1e-15);
        grad[0].Should().BeApproximately(0.05, 1e-15);
        grad[10].Should().Be(0);
        result.Statistics.EntropyMaskedFraction.Should().BeApproximately(0.8, 1e-15);
    }

    // Entropy bonus c = 0.1 with the token mean: loss = −A − c·mean(H) = −2 − 0.1·5.5, dL/dH = −0.1/10 at valid tokens.
    [Theory]
    [MemberData(nameof(Kernels))]
    public void Entropy_bonus_subtracts_c_times_the_aggregated_entropy_and_its_gradient_reaches_the_entropy(string kernel)
    {
        using var scope = NewDisposeScope();
        var (inputs, _) = TenTokens(ScalarType.Float64);
        var entropy = inputs.Entropy!.requires_grad_(true);
        var options = new PolicyLossOptions { Aggregation = LossAggregation.TokenMean, EntropyCoefficient = 0.1, Kernel = kernel };

        using var result = PolicyLoss.Compute(inputs, options);
        result.Loss.item<double>().Should().BeApproximately(-2 - (0.1 * 5.5), 1e-14);
        result.Statistics.EntropyBonus.Should().BeApproximately(0.55, 1e-14);
        result.Statistics.EntropyMaskedFraction.Should().Be(0);
        result.Loss.backward();
        entropy.grad!.reshape(-1).data<double>().ToArray().Should().Equal(Enumerable.Repeat(-0.01, 10).Concat([0.0, 0.0]));
    }

    // End to end: logits → (log-probs, entropy) → loss with both terms → d loss / d logits, against the same loss written in
    // float64 plain ops (log_softmax of double logits, TRL's and verl's formulas, autograd).
    [Theory]
    [InlineData(LossAggregation.SequenceMeanTokenMean, "managed")]
    [InlineData(LossAggregation.TokenMean, "fused-tensor")]
    [InlineData(LossAggregation.ConstantNormalizer, "managed")]
    public void Gradient_into_the_logits_matches_float64_plain_ops(LossAggregation aggregation, string kernel)
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(81UL, CPU);
        const long b = 4, t = 9, v = 17;
        var logits = (randn([b, t, v], ScalarType.Float64, generator: generator) * 1.5).requires_grad_(true);
        var targets = randint(v, [b, t], ScalarType.Int64, generator: generator);
        var mask = rand([b, t], ScalarType.Float64, generator: generator).gt(0.25);
        var advantages = randn([b], ScalarType.Float64, generator: generator);
        var old = randn([b, t], ScalarType.Float64, generator: generator) * 0.1;
        var options = new PolicyLossOptions
        {
            Aggregation = aggregation, EntropyCoefficient = 0.03, TopEntropyQuantile = 0.4, EpsilonHigh = 0.28, Kernel = kernel,
        };

        var logProbs = TokenLogProbs.FromLogits(logits, targets, out var entropy, 0.9, 5, entropyGradient: true);
        using var result = PolicyLoss.Compute(
            new PolicyLossInputs { LogProbs = logProbs, Entropy = entropy, Mask = mask, Advantages = advantages, OldLogProbs = logProbs.detach() + old },
            options);
        result.Loss.backward();

        // The plain composition: clip objective on the kept tokens, minus c·agg(H).
        var x = logits.detach().clone().requires_grad_(true);
        var ls = (x / 0.9).log_softmax(-1);
        var lp = ls.gather(-1, targets.unsqueeze(-1)).squeeze(-1);
        var h = -(ls.exp() * ls).sum(-1);
        var keep = ReferencePolicyLoss.TopEntropyMask(h.detach(), mask, 0.4).to(ScalarType.Float64);
        var ratio = (lp - (lp.detach() + old)).exp();
        var a = advantages.unsqueeze(1);
        var policy = -torch.minimum(ratio * a, ratio.clamp(0.8, 1.28) * a) * keep;
        var m = mask.to(ScalarType.Float64);
        Tensor Agg(Tensor values) => aggregation switch
        {
            LossAggregation.SequenceMeanTokenMean => ((values * m).sum(1) / m.sum(1).clamp_min(1)).mean(),
            LossAggregation.TokenMean => (values * m).sum() / m.sum(),
            _ => (values * m).sum() / (b * t),
        };
        var expected = Agg(policy) - (0.03 * Agg(h));
        expected.backward();

        result.Loss.item<double>().Should().BeApproximately(expected.item<double>(), 1e-12);
        double scale = x.grad!.abs().max().item<double>();
        (logits.grad! - x.grad!).abs().max().item<double>().Should().BeLessThan(1e-12 * scale);
        result.Statistics.EntropyMaskedFraction.Should().BeApproximately(1 - (keep.sum().item<double>() / m.sum().item<double>()), 1e-15);
    }

    [Fact]
    public void Float32_quantile_follows_torch_quantile_rank_and_lerp_in_float32()
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(82UL, CPU);
        var entropy = rand([6, 37], ScalarType.Float32, generator: generator) * 3;
        var mask = rand([6, 37], ScalarType.Float32, generator: generator).gt(0.3);
        foreach (double rho in new[] { 0.0, 0.1, 0.2, 0.37, 0.5, 0.9, 0.999 })
        {
            var inputs = new PolicyLossInputs { LogProbs = zeros([6, 37]), Advantages = ones([6]), Mask = mask, Entropy = entropy };
            var masked = EntropyTerms.WithPolicyTokenMask(inputs, new PolicyLossOptions { TopEntropyQuantile = rho }).PolicyTokenMask!;
            masked.eq(ReferencePolicyLoss.TopEntropyMask(entropy, mask, rho)).all().item<bool>().Should().BeTrue($"rho = {rho}");
        }
    }

    [Theory]
    [InlineData(ScalarType.Float32)]
    [InlineData(ScalarType.Float64)]
    public void The_selection_quantile_equals_torch_quantile_bit_for_bit(ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(83UL, CPU);
        foreach (long n in new long[] { 1, 2, 7, 10, 101, 4096 })
        {
            var values = (rand([n], ScalarType.Float64, generator: generator) * 3).to(dtype);
            foreach (double q in new[] { 0.0, 0.2, 0.25, 0.5, 0.63, 0.7, 0.8, 0.999, 1.0 })
            {
                double expected = values.quantile(tensor(q, dtype)).to(ScalarType.Float64).item<double>();
                double actual = EntropyTerms.Quantile(values, q).to(ScalarType.Float64).item<double>();
                actual.Should().Be(expected, $"n = {n}, q = {q}");
            }
        }
    }

    [Fact]
    public void Missing_or_bad_entropy_and_out_of_range_options_are_rejected_by_name()
    {
        using var scope = NewDisposeScope();
        var (inputs, _) = TenTokens(ScalarType.Float64);

        var missing = () => PolicyLoss.Compute(inputs with { Entropy = null }, new PolicyLossOptions { EntropyCoefficient = 0.1 });
        missing.Should().Throw<ArgumentException>().Where(e => e.ParamName == "inputs.Entropy")
            .WithMessage("Entropy is required when EntropyCoefficient > 0 or TopEntropyQuantile < 1 (EntropyCoefficient = 0.1, TopEntropyQuantile = 1).*");

        var shape = () => PolicyLoss.Compute(inputs with { Entropy = zeros([1, 5], ScalarType.Float64) }, new PolicyLossOptions { TopEntropyQuantile = 0.5 });
        shape.Should().Throw<ArgumentException>().Where(e => e.ParamName == "inputs.Entropy").WithMessage("Entropy must have shape [B, T] = [1, 12] like LogProbs; got [1, 5].*");

        var nan = inputs.Entropy!.clone();
        nan[0, 4] = tensor(double.NaN);
        var bad = () => PolicyLoss.Compute(inputs with { Entropy = nan }, new PolicyLossOptions { TopEntropyQuantile = 0.5, Kernel = "managed" });
        bad.Should().Throw<ArgumentException>().Where(e => e.ParamName == "inputs.Entropy").WithMessage("Entropy holds NaN at [0, 4], a valid (masked-in) position*");

        var padding = inputs.Entropy!.clone();
        padding[0, 11] = tensor(double.NaN);
        using (var fine = PolicyLoss.Compute(inputs with { Entropy = padding }, new PolicyLossOptions { TopEntropyQuantile = 0.5, EntropyCoefficient = 0.1 }))
        {
            fine.Loss.isfinite().item<bool>().Should().BeTrue();
        }

        var options = () => new PolicyLossOptions { EntropyCoefficient = -0.1, TopEntropyQuantile = 1.5 }.Validate();
        options.Should().Throw<ArgumentException>().Where(e => e.Message.Contains("EntropyCoefficient must be finite and >= 0") && e.Message.Contains("TopEntropyQuantile must be in [0, 1]"));
    }

    [Fact]
    public void The_fused_linear_loss_refuses_the_entropy_terms_by_name()
    {
        using var scope = NewDisposeScope();
        var inputs = new FusedLinearPolicyLossInputs
        {
            Hidden = zeros([1, 2, 3]), Weight = zeros([5, 3]), Targets = zeros([1, 2], ScalarType.Int64), Advantages = ones([1]), Mask = ones([1, 2], ScalarType.Bool),
        };
        var act = () => FusedLinearPolicyLoss.Compute(inputs, new PolicyLossOptions { TopEntropyQuantile = 0.2 });
        act.Should().Throw<ArgumentException>().Where(e => e.ParamName == "options").WithMessage("EntropyCoefficient > 0 and TopEntropyQuantile < 1 are not supported by the fused linear policy loss*");
    }

    /// <summary>One row of 12 positions, the last 2 padding; log π = −1 (requires grad), A = 2, entropies 1..10 then NaN padding.</summary>
    private static (PolicyLossInputs Inputs, Tensor Leaf) TenTokens(ScalarType dtype)
    {
        var leaf = full([1, 12], -1.0, dtype).requires_grad_(true);
        var mask = tensor(Enumerable.Range(0, 12).Select(i => i < 10).ToArray()).reshape(1, 12);
        var entropy = tensor(Enumerable.Range(1, 12).Select(i => i <= 10 ? (double)i : double.NaN).ToArray()).reshape(1, 12).to(dtype);
        return (new PolicyLossInputs { LogProbs = leaf, Advantages = tensor(new[] { 2.0 }).to(dtype), Mask = mask, Entropy = entropy }, leaf);
    }
}
