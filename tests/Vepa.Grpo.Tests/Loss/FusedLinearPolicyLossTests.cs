using TorchSharp;
using static TorchSharp.torch;

namespace Vepa.Grpo.Tests.Loss;

public sealed class FusedLinearPolicyLossTests
{
    private const int B = 5;
    private const int T = 7;
    private const int H = 6;
    private const int V = 11;

    public static TheoryData<string, int?, bool> Cases()
    {
        var data = new TheoryData<string, int?, bool>();
        foreach (string variant in Variants.Keys)
        {
            data.Add(variant, null, false);
            data.Add(variant, 3, variant == "vepa");
        }

        data.Add("vepa", 1, true);
        data.Add("gspo", 20, false);
        return data;
    }

    private static readonly Dictionary<string, Func<PolicyLossOptions>> Variants = new()
    {
        ["vepa"] = () => new() { Beta = 0.01, KlEstimator = KlEstimator.K3 },
        ["dapo-token-mean"] = () => new() { EpsilonHigh = 0.28, Aggregation = LossAggregation.TokenMean },
        ["dr-grpo"] = () => new() { Aggregation = LossAggregation.ConstantNormalizer, MaxCompletionLength = 9, Beta = 0.02, KlEstimator = KlEstimator.K2 },
        ["token-sum"] = () => new() { Aggregation = LossAggregation.TokenSum, Beta = 0.05, KlEstimator = KlEstimator.K1 },
        ["gspo"] = () => new() { RatioLevel = RatioLevel.Sequence, EpsilonLow = 3e-4, EpsilonHigh = 4e-4 },
        ["cispo"] = () => new() { Objective = PolicyObjective.Cispo, EpsilonHigh = 1.1, Aggregation = LossAggregation.TokenMean },
        ["verl"] = () => new() { LogRatioClamp = 20, DualClip = 3, Aggregation = LossAggregation.TokenMean, Beta = 0.01, KlLogRatioClamp = 20, KlValueClamp = 10 },
        ["sampler-sequence-truncate"] = () => new() { SamplerCorrection = SamplerCorrectionMode.Truncate, SamplerCorrectionPerSequence = true, SamplerCorrectionMax = 2 },
        ["sampler-token-mask"] = () => new() { SamplerCorrection = SamplerCorrectionMode.Mask, SamplerCorrectionMax = 1.3, Delta = 1.5 },
        ["on-policy"] = () => new() { Beta = 0.01 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Float64_loss_statistics_and_gradients_match_the_plain_composition_to_1e_10(string variant, int? chunkSize, bool shift)
    {
        using var scope = NewDisposeScope();
        PolicyLossOptions options = Variants[variant]();
        var data = Data.Create(seed: variant.Length * 31 + (chunkSize ?? 0), ScalarType.Float64, withOld: variant != "on-policy", shift);
        var inputs = data.Inputs with { ChunkSize = chunkSize };

        using PolicyLossResult result = FusedLinearPolicyLoss.Compute(inputs, options);
        Tensor[] grads = autograd.grad([result.Loss], [inputs.Hidden, inputs.Weight, inputs.Bias!]).ToArray();
        var expected = data.Reference(options);

        LossTestData.AssertClose(result.Loss.item<double>(), expected.Loss, 1e-10, "loss");
        LossTestData.AssertStatisticsClose(result.Statistics, expected.Statistics, 1e-10);
        LossTestData.AssertTensorClose(grads[0], expected.Grads[0], 1e-10, "d loss / d hidden");
        LossTestData.AssertTensorClose(grads[1], expected.Grads[1], 1e-10, "d loss / d weight");
        LossTestData.AssertTensorClose(grads[2], expected.Grads[2], 1e-10, "d loss / d bias");
        if (shift)
        {
            grads[0].narrow(1, T, 1).count_nonzero().item<long>().Should().Be(0, "the ignored last position gets no gradient");
        }
    }

    [Fact]
    public void Gradients_agree_with_central_finite_differences()
    {
        using var scope = NewDisposeScope();
        var options = new PolicyLossOptions { Beta = 0.02, Aggregation = LossAggregation.TokenMean };
        var data = Data.Create(seed: 5, ScalarType.Float64, withOld: true, shift: false);
        var inputs = data.Inputs with { ChunkSize = 4 };
        using PolicyLossResult result = FusedLinearPolicyLoss.Compute(inputs, options);
        Tensor[] grads = autograd.grad([result.Loss], [inputs.Hidden, inputs.Weight, inputs.Bias!]).ToArray();

        using var generator = new Generator(99UL, CPU);
        Tensor[] leaves = [inputs.Hidden, inputs.Weight, inputs.Bias!];
        for (int k = 0; k < 3; k++)
        {
            Tensor direction = randn(leaves[k].shape, ScalarType.Float64, generator: generator);
            const double eps = 1e-6;
            double Loss(double step)
            {
                using var noGrad = no_grad();
                using var inner = NewDisposeScope();
                Tensor[] moved = leaves.Select((t, i) => i == k ? t.detach() + (direction * step) : t.detach()).ToArray();
                using PolicyLossResult r = FusedLinearPolicyLoss.Compute(inputs with { Hidden = moved[0], Weight = moved[1], Bias = moved[2] }, options);
                return r.Loss.item<double>();
            }

            double numeric = (Loss(eps) - Loss(-eps)) / (2 * eps);
            double analytic = (grads[k] * direction).sum().item<double>();
            Math.Abs(numeric - analytic).Should().BeLessThan(1e-6 * Math.Max(1, Math.Abs(analytic)), $"input {k}: numeric {numeric:R}, analytic {analytic:R}");
        }
    }

    [Fact]
    public void Float32_matches_the_float64_composition_and_bf16_matches_the_bf16_composition()
    {
        using var scope = NewDisposeScope();
        var options = new PolicyLossOptions { Beta = 0.01 };
        var data = Data.Create(seed: 17, ScalarType.Float32, withOld: true, shift: false);
        using (PolicyLossResult r = FusedLinearPolicyLoss.Compute(data.Inputs with { ChunkSize = 5 }, options))
        {
            Tensor[] grads = autograd.grad([r.Loss], [data.Inputs.Hidden, data.Inputs.Weight, data.Inputs.Bias!]).ToArray();
            var expected = data.Reference(options);
            LossTestData.AssertClose(r.Loss.item<float>(), expected.Loss, 1e-5, "loss");
            grads[0].dtype.Should().Be(ScalarType.Float32);
            LossTestData.AssertTensorClose(grads[0], expected.Grads[0], 1e-4, "d loss / d hidden");
            LossTestData.AssertTensorClose(grads[1], expected.Grads[1], 1e-4, "d loss / d weight");
        }

        var bf16 = Data.Create(seed: 18, ScalarType.BFloat16, withOld: true, shift: false);
        using PolicyLossResult fused = FusedLinearPolicyLoss.Compute(bf16.Inputs with { ChunkSize = 5 }, options);
        Tensor[] fusedGrads = autograd.grad([fused.Loss], [bf16.Inputs.Hidden, bf16.Inputs.Weight]).ToArray();
        Tensor logProbs = TokenLogProbs.FromHiddenStates(bf16.Inputs.Hidden, bf16.Inputs.Weight, bf16.Inputs.Targets, bf16.Inputs.Bias);
        using PolicyLossResult composed = PolicyLoss.Compute(bf16.LossInputs(logProbs), options);
        Tensor[] composedGrads = autograd.grad([composed.Loss], [bf16.Inputs.Hidden, bf16.Inputs.Weight]).ToArray();
        fused.Loss.dtype.Should().Be(ScalarType.Float32);
        fusedGrads[0].dtype.Should().Be(ScalarType.BFloat16);
        LossTestData.AssertClose(fused.Loss.item<float>(), composed.Loss.item<float>(), 1e-5, "bf16 loss");
        LossTestData.AssertTensorClose(fusedGrads[0], composedGrads[0], 1e-2, "bf16 d loss / d hidden");
        LossTestData.AssertTensorClose(fusedGrads[1], composedGrads[1], 1e-2, "bf16 d loss / d weight");
    }

    [Fact]
    public void Second_derivatives_under_create_graph_match_the_plain_composition()
    {
        using var scope = NewDisposeScope();
        var options = new PolicyLossOptions { Beta = 0.05, KlEstimator = KlEstimator.K2 };
        var data = Data.Create(seed: 23, ScalarType.Float64, withOld: true, shift: false);
        using PolicyLossResult result = FusedLinearPolicyLoss.Compute(data.Inputs with { ChunkSize = 4 }, options);
        Tensor g = autograd.grad([result.Loss], [data.Inputs.Hidden], retain_graph: true, create_graph: true)[0];
        g.requires_grad.Should().BeTrue("create_graph must give a differentiable gradient");
        using var generator = new Generator(3UL, CPU);
        Tensor v = randn(g.shape, ScalarType.Float64, generator: generator);
        Tensor second = autograd.grad([(g * v).sum()], [data.Inputs.Weight])[0];

        var (expectedLoss, _, leaves) = data.PlainLoss(options);
        Tensor ge = autograd.grad([expectedLoss], [leaves[0]], retain_graph: true, create_graph: true)[0];
        Tensor expectedSecond = autograd.grad([(ge * v).sum()], [leaves[1]])[0];
        LossTestData.AssertTensorClose(g, ge, 1e-10, "first derivative");
        LossTestData.AssertTensorClose(second, expectedSecond, 1e-9, "second derivative");
    }

    [Fact]
    public void Without_a_gradient_the_loss_and_statistics_are_the_same_and_no_graph_is_built()
    {
        using var scope = NewDisposeScope();
        var options = new PolicyLossOptions { Beta = 0.01 };
        var data = Data.Create(seed: 41, ScalarType.Float64, withOld: true, shift: false);
        var expected = data.Reference(options);
        using var noGrad = no_grad();
        using PolicyLossResult result = FusedLinearPolicyLoss.Compute(data.Inputs, options);
        result.Loss.requires_grad.Should().BeFalse();
        LossTestData.AssertClose(result.Loss.item<double>(), expected.Loss, 1e-10, "loss");
        LossTestData.AssertStatisticsClose(result.Statistics, expected.Statistics, 1e-10);
    }

    [Fact]
    public void Only_the_inputs_that_require_grad_get_a_gradient_and_it_matches_the_composition()
    {
        using var scope = NewDisposeScope();
        var options = new PolicyLossOptions { Beta = 0.01, Aggregation = LossAggregation.TokenMean };
        var data = Data.Create(seed: 43, ScalarType.Float64, withOld: true, shift: false);
        var expected = data.Reference(options);
        var frozen = data.Inputs with { Hidden = data.Inputs.Hidden.detach(), Bias = data.Inputs.Bias!.detach(), ChunkSize = 3 };
        using PolicyLossResult result = FusedLinearPolicyLoss.Compute(frozen, options);
        result.Loss.requires_grad.Should().BeTrue();
        Tensor gradWeight = autograd.grad([result.Loss], [frozen.Weight])[0];
        LossTestData.AssertTensorClose(gradWeight, expected.Grads[1], 1e-10, "d loss / d weight");
    }

    [Fact]
    public void Bad_inputs_are_rejected_with_the_argument_and_the_first_bad_position()
    {
        using var scope = NewDisposeScope();
        var data = Data.Create(seed: 2, ScalarType.Float64, withOld: true, shift: false);
        var wrongH = () => FusedLinearPolicyLoss.Compute(data.Inputs with { Weight = zeros(V, H + 1, ScalarType.Float64) });
        wrongH.Should().Throw<ArgumentException>().Which.ParamName.Should().Be("weight");

        var wrongMask = () => FusedLinearPolicyLoss.Compute(data.Inputs with { Mask = ones(B, T + 1, ScalarType.Bool) });
        wrongMask.Should().Throw<ArgumentException>().Which.ParamName.Should().Be("inputs.Mask");

        // NaN in the hidden states of a valid position surfaces as a NaN log-prob at that position.
        var (b, t) = data.FirstValid();
        Tensor hidden = data.Inputs.Hidden.detach().clone();
        hidden[b, t, 2] = tensor(double.NaN);
        var nan = () => FusedLinearPolicyLoss.Compute(data.Inputs with { Hidden = hidden });
        nan.Should().Throw<ArgumentException>().Which.Message.Should().StartWith($"LogProbs holds NaN at [{b}, {t}]");
    }

    /// <summary>Seeded hidden states, LM head and policy-loss constants; completions start at different positions.</summary>
    private sealed record Data(FusedLinearPolicyLossInputs Inputs)
    {
        public static Data Create(int seed, ScalarType dtype, bool withOld, bool shift)
        {
            using var generator = new Generator((ulong)(1000 + seed), CPU);
            int positions = shift ? T + 1 : T;
            Tensor hidden = randn([B, positions, H], ScalarType.Float64, generator: generator).to(dtype).requires_grad_();
            Tensor weight = (randn([V, H], ScalarType.Float64, generator: generator) * 0.8).to(dtype).requires_grad_();
            Tensor bias = (randn([V], ScalarType.Float64, generator: generator) * 0.3).to(dtype).requires_grad_();
            Tensor targets = randint(V, [B, T], ScalarType.Int64, generator: generator);

            // Row b's completion starts at position start[b] and ends at end[b] (row 3 is empty); an int64 mask, as HF's.
            int[] start = [0, 2, 4, 1, 3];
            int[] end = [7, 6, 7, 1, 5];
            var mask = zeros([B, T], ScalarType.Int64);
            for (int b = 0; b < B; b++)
            {
                if (end[b] > start[b])
                {
                    mask[b].narrow(0, start[b], end[b] - start[b]).fill_(1);
                }
            }

            Tensor logProbs;
            using (no_grad())
            {
                Tensor used = (shift ? hidden.narrow(1, 0, T) : hidden).to(ScalarType.Float64);
                logProbs = (used.matmul(weight.to(ScalarType.Float64).t()) + bias.to(ScalarType.Float64))
                    .log_softmax(-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1);
            }

            Tensor invalid = mask.eq(0);
            Tensor Noise(Tensor around, double scale) => (around + (randn([B, T], ScalarType.Float64, generator: generator) * scale)).masked_fill(invalid, double.NaN).to(dtype);
            Tensor old = Noise(logProbs, 0.3);
            return new Data(new FusedLinearPolicyLossInputs
            {
                Hidden = hidden,
                Weight = weight,
                Bias = bias,
                Targets = targets,
                Advantages = randn([B], ScalarType.Float64, generator: generator).to(dtype),
                Mask = mask,
                OldLogProbs = withOld ? old : null,
                ReferenceLogProbs = Noise(logProbs, 0.4),
                SamplerLogProbs = Noise(old.to(ScalarType.Float64).nan_to_num(0.0), 0.4).masked_fill(invalid, double.PositiveInfinity),
                Shift = shift,
            });
        }

        public PolicyLossInputs LossInputs(Tensor logProbs) => new()
        {
            LogProbs = logProbs,
            Advantages = Inputs.Advantages,
            Mask = Inputs.Mask,
            OldLogProbs = Inputs.OldLogProbs,
            ReferenceLogProbs = Inputs.ReferenceLogProbs,
            SamplerLogProbs = Inputs.SamplerLogProbs,
        };

        /// <summary>The plain composition in float64 (matmul, log_softmax, gather, the reference loss) on float64 leaves.</summary>
        public (Tensor Loss, PolicyLossStatistics Statistics, Tensor[] Leaves) PlainLoss(PolicyLossOptions options)
        {
            Tensor h = Inputs.Hidden.detach().to(ScalarType.Float64).requires_grad_();
            Tensor w = Inputs.Weight.detach().to(ScalarType.Float64).requires_grad_();
            Tensor b = Inputs.Bias!.detach().to(ScalarType.Float64).requires_grad_();
            Tensor used = Inputs.Shift ? h.narrow(1, 0, T) : h;
            Tensor logProbs = ((used.matmul(w.t()) + b) / Inputs.Temperature).log_softmax(-1)
                .gather(-1, Inputs.Targets.unsqueeze(-1)).squeeze(-1);
            var f64 = LossInputs(logProbs) with
            {
                Advantages = Inputs.Advantages.to(ScalarType.Float64),
                OldLogProbs = Inputs.OldLogProbs?.to(ScalarType.Float64),
                ReferenceLogProbs = Inputs.ReferenceLogProbs?.to(ScalarType.Float64),
                SamplerLogProbs = Inputs.SamplerLogProbs?.to(ScalarType.Float64),
            };
            var (loss, statistics) = ReferencePolicyLoss.Compute(f64, options);
            return (loss, statistics, [h, w, b]);
        }

        public (double Loss, PolicyLossStatistics Statistics, Tensor[] Grads) Reference(PolicyLossOptions options)
        {
            var (loss, statistics, leaves) = PlainLoss(options);
            Tensor[] grads = autograd.grad([loss], leaves).ToArray();
            return (loss.item<double>(), statistics, grads);
        }

        public (long B, long T) FirstValid()
        {
            long flat = Inputs.Mask.flatten().argmax().item<long>();
            return (flat / T, flat % T);
        }
    }
}
