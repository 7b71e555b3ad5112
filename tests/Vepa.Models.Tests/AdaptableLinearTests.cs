using TorchSharp;
using TorchSharp.Modules;
using Vepa.Grpo;
using static TorchSharp.torch;

namespace Vepa.Models.Tests;

/// <summary>
/// <see cref="AdaptableLinear"/>: the layer a host's own <see cref="PolicyModule"/> uses so LoRA can target it, checked against float64
/// plain-op references (x·Wᵀ + b, and + (α / r)·x·Aᵀ·Bᵀ with the adapter), and trained through <see cref="LoraPolicy"/> over a
/// <see cref="TorchPolicy"/>.
/// </summary>
[Collection("Global random generator")]
public sealed class AdaptableLinearTests
{
    [Fact]
    public void It_is_initialised_as_nn_Linear_and_computes_x_W_transposed_plus_b()
    {
        manual_seed(11);
        using var layer = new AdaptableLinear(16, 5);
        double bound = 1 / Math.Sqrt(16);
        layer.Weight.shape.Should().Equal(5, 16);
        layer.Bias!.shape.Should().Equal(5);
        layer.Weight.abs().max().item<float>().Should().BeLessThanOrEqualTo((float)bound).And.BeGreaterThan((float)(0.5 * bound));
        layer.Bias.abs().max().item<float>().Should().BeLessThanOrEqualTo((float)bound).And.BeGreaterThan(0);
        layer.named_parameters().Select(p => p.name).Should().Equal("weight", "bias");
        layer.HasAdapter.Should().BeFalse();

        using var x = randn(3, 4, 16);
        using var y = layer.forward(x);
        using var expected = x.to(float64).matmul(layer.Weight.detach().to(float64).t()) + layer.Bias.detach().to(float64);
        (y.to(float64) - expected).abs().max().item<double>().Should().BeLessThan(1e-6);

        manual_seed(11);
        using var again = new AdaptableLinear(16, 5);
        again.Weight.equal(layer.Weight).all().item<bool>().Should().BeTrue("torch.manual_seed fixes the initialisation");
        // nn.Linear's parameter names: a state saved from nn.Linear loads as it is.
        using var linear = nn.Linear(16, 5);
        again.load_state_dict(linear.state_dict());
        again.Weight.equal(linear.weight!).all().item<bool>().Should().BeTrue();
        again.Bias!.equal(linear.bias!).all().item<bool>().Should().BeTrue();

        using var noBias = new AdaptableLinear(16, 5, hasBias: false, dtype: ScalarType.Float64);
        noBias.Bias.Should().BeNull();
        noBias.Weight.dtype.Should().Be(ScalarType.Float64);
    }

    [Fact]
    public void Bad_sizes_and_dtypes_are_refused_naming_the_argument()
    {
        var act = () => new AdaptableLinear(0, 4);
        act.Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be("inputSize");
        act = () => new AdaptableLinear(4, -1);
        act.Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be("outputSize");
        act = () => new AdaptableLinear(4, 4, dtype: ScalarType.Int64);
        act.Should().Throw<ArgumentException>().WithMessage("dtype must be a floating-point type; got Int64.*").Which.ParamName.Should().Be("dtype");
    }

    [Fact]
    public void Adapters_on_a_host_module_add_alpha_over_r_B_A_and_switch_off_and_merge_exactly()
    {
        manual_seed(3);
        using var module = new TwoLayerModule(vocabulary: 12, hidden: 8);
        var adapters = LoraAdapters.Apply(module, new LoraOptions { TargetModules = ["proj"], Rank = 2, Alpha = 6, Seed = 5 });
        adapters.ModulePaths.Should().Equal("proj");
        module.Proj.HasAdapter.Should().BeTrue();
        module.Mlp.HasAdapter.Should().BeFalse("only the named layer is targeted");
        module.state_dict().Keys.Should().Contain(["proj.lora_A.weight", "proj.lora_B.weight"]);
        module.parameters().Where(p => p.requires_grad).Should().HaveCount(2, "only A and B train");

        using var scope = NewDisposeScope();
        using (no_grad())
        {
            Parameter(module, "proj.lora_B.weight").copy_(randn(8, 2) * 0.3);      // B = 0 at the start; give it a value
        }

        var a = Parameter(module, "proj.lora_A.weight").detach().to(float64);
        var b = Parameter(module, "proj.lora_B.weight").detach().to(float64);
        var w = module.Proj.Weight.detach().to(float64);
        var bias = module.Proj.Bias!.detach().to(float64);
        var x = randn(2, 3, 8);
        var x64 = x.to(float64);
        var baseOut = x64.matmul(w.t()) + bias;
        var adapted = baseOut + (6.0 / 2) * x64.matmul(a.t()).matmul(b.t());

        (module.Proj.forward(x).to(float64) - adapted).abs().max().item<double>().Should().BeLessThan(1e-5);
        using (adapters.DisableAdapters())
        {
            (module.Proj.forward(x).to(float64) - baseOut).abs().max().item<double>().Should().BeLessThan(1e-5, "adapters off computes the base layer");
        }

        adapters.Merge();
        (module.Proj.Weight.detach().to(float64) - (w + 3.0 * b.matmul(a))).abs().max().item<double>().Should().BeLessThan(1e-6);
        (module.Proj.forward(x).to(float64) - adapted).abs().max().item<double>().Should().BeLessThan(1e-5, "merged, the layer alone computes the adapted output");
        adapters.Unmerge();
        (module.Proj.Weight.detach().to(float64) - w).abs().max().item<double>().Should().BeLessThan(1e-6);
    }

    [Fact]
    public void A_TorchSharp_Linear_target_is_refused_with_a_message_pointing_at_AdaptableLinear()
    {
        using var module = new TwoLayerModule(vocabulary: 12, hidden: 8);
        var act = () => LoraAdapters.Apply(module, new LoraOptions { TargetModules = ["proj", "plain"] });
        act.Should().Throw<ArgumentException>()
            .WithMessage("*'plain' (Linear)*Build your module's layers with AdaptableLinear instead of nn.Linear*");
        module.parameters().All(p => p.requires_grad).Should().BeTrue("a refused Apply changes nothing");
        module.Proj.HasAdapter.Should().BeFalse();
    }

    [Fact]
    public async Task GRPO_through_LoraPolicy_over_a_host_TorchPolicy_trains_only_the_adapters_and_learns()
    {
        var tokenizer = new WordTokenizer(["<eos>", "<bos>", "yes", "no", "maybe", "cat", "dog"]);
        manual_seed(1);
        var module = new TwoLayerModule(tokenizer.VocabularySize, hidden: 16);
        using var policy = new LoraPolicy(new TorchPolicy(module, tokenizer), new LoraOptions { TargetModules = ["proj", "mlp"], Rank = 4, Alpha = 8, Seed = 2 });
        policy.TrainableParameters.Should().HaveCount(4);
        var frozen = module.named_parameters().Where(p => !p.name.Contains(".lora_", StringComparison.Ordinal))
            .ToDictionary(p => p.name, p => p.parameter.detach().clone().DetachFromDisposeScope());

        PolicyPrompt[] prompts = [new("Is it a cat?", "yes", [tokenizer.IdOf("<bos>"), tokenizer.IdOf("cat")]), new("Is it a dog?", "yes", [tokenizer.IdOf("<bos>"), tokenizer.IdOf("dog")])];
        using var reward = new TextReward(text => text.StartsWith("yes", StringComparison.Ordinal) ? 1 : 0);
        var options = new GrpoTrainerOptions
        {
            GroupSize = 8,
            Sampling = new SamplingOptions { Temperature = 1.0, MaxNewTokens = 1, StopTokenIds = [tokenizer.IdOf("<eos>")] },
            LearningRate = 0.1,
            WarmupRatio = 0,
            MaxSteps = 25,
            Seed = 4,
        };
        var rewards = new List<double>();
        using (var trainer = new GrpoTrainer(policy, reward, options))
        {
            trainer.Reference!.GetState().Should().BeEmpty("the reference is the adapters-off view, not a copy");
            for (int step = 0; step < options.MaxSteps; step++)
            {
                rewards.Add((await trainer.StepAsync(prompts)).RewardMean);
            }
        }

        foreach (var (name, value) in module.named_parameters().Where(p => !p.name.Contains(".lora_", StringComparison.Ordinal)))
        {
            value.equal(frozen[name]).all().item<bool>().Should().BeTrue($"the base weight {name} never changes");
        }

        rewards.Skip(15).Average().Should().BeGreaterThan(rewards.Take(5).Average() + 0.2, $"the adapters learn the task (rewards {string.Join(", ", rewards.Select(r => r.ToString("F2", System.Globalization.CultureInfo.InvariantCulture)))})");
        foreach (var tensor in frozen.Values)
        {
            tensor.Dispose();
        }
    }

    private static Parameter Parameter(nn.Module module, string name) => module.named_parameters().Single(p => p.name == name).parameter;

    /// <summary>A host's own policy module: embedding, two adaptable layers (<c>proj</c>, <c>mlp</c>), a plain TorchSharp <c>Linear</c>, and an LM head.</summary>
    private sealed class TwoLayerModule : PolicyModule
    {
        private readonly int _vocabulary;
        private readonly int _hidden;
#pragma warning disable IDE1006, SA1306, SA1307, SA1309 // Field names are the parameter names (TorchSharp registers fields by name).
        private readonly Embedding embed;
        private readonly AdaptableLinear proj;
        private readonly AdaptableLinear mlp;
        private readonly Linear plain;
        private readonly Parameter head;
#pragma warning restore IDE1006, SA1306, SA1307, SA1309

        public TwoLayerModule(int vocabulary, int hidden)
            : base(nameof(TwoLayerModule))
        {
            _vocabulary = vocabulary;
            _hidden = hidden;
            embed = nn.Embedding(vocabulary, hidden);
            proj = new AdaptableLinear(hidden, hidden);
            mlp = new AdaptableLinear(hidden, hidden);
            plain = nn.Linear(hidden, hidden);
            head = new Parameter(randn(vocabulary, hidden) * 0.1);
            RegisterComponents();
        }

        public AdaptableLinear Proj => proj;

        public AdaptableLinear Mlp => mlp;

        public override Tensor LmHeadWeight => head;

        public override Tensor Forward(Tensor? prefix, Tensor tokenIds, KeyValueCache? cache)
        {
            using var scope = NewDisposeScope();
            var x = embed.forward(tokenIds);
            var h = tanh(proj.forward(x));
            h = h + tanh(mlp.forward(h)) + 0 * plain.forward(h);
            return h.MoveToOuterDisposeScope();
        }

        public override PolicyModule CloneArchitecture() => new TwoLayerModule(_vocabulary, _hidden);
    }
}
