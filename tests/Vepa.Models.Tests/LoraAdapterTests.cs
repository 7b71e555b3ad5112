using System.Text.Json.Nodes;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Vepa.Models.Tests;

/// <summary>
/// <see cref="LoraAdapters"/> on a tiny random float64 Qwen2: targeting, PEFT's initialisation, the forward and gradients against
/// float64 plain ops and finite differences, switching off, merging, and the PEFT file format against hand-written expectations.
/// </summary>
public sealed class LoraAdapterTests : IDisposable
{
    private const string Config = """
        {
          "model_type": "qwen2", "vocab_size": 40, "hidden_size": 16, "intermediate_size": 24, "num_hidden_layers": 2,
          "num_attention_heads": 4, "num_key_value_heads": 2, "rms_norm_eps": 1e-6, "rope_theta": 10000.0,
          "tie_word_embeddings": false, "max_position_embeddings": 64
        }
        """;

    private readonly string _folder = Path.Combine(Path.GetTempPath(), "vepa-lora-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_folder))
        {
            Directory.Delete(_folder, recursive: true);
        }
    }

    [Fact]
    public void Targets_match_PEFT_suffixes_or_a_full_pattern_and_everything_else_is_frozen()
    {
        using var model = CreateModel(seed: 1);
        var adapters = LoraAdapters.Apply(model, new LoraOptions { Rank = 4, Alpha = 8, TargetModules = ["q_proj", "down_proj"], Seed = 5 });

        adapters.ModulePaths.Should().Equal(
            "model.layers.0.self_attn.q_proj", "model.layers.0.mlp.down_proj", "model.layers.1.self_attn.q_proj", "model.layers.1.mlp.down_proj");
        adapters.Scaling.Should().Be(2.0);
        adapters.TrainableParameters.Should().HaveCount(8).And.OnlyContain(p => p.requires_grad);
        model.named_parameters().Where(p => !p.name.Contains(".lora_", StringComparison.Ordinal)).Should().OnlyContain(p => !p.parameter.requires_grad, "the base (biases included) is frozen");
        var state = model.state_dict();
        state["model.layers.0.self_attn.q_proj.lora_A.weight"].shape.Should().Equal(4, 16);
        state["model.layers.0.self_attn.q_proj.lora_B.weight"].shape.Should().Equal(16, 4);
        state["model.layers.1.mlp.down_proj.lora_A.weight"].shape.Should().Equal(4, 24);
        state["model.layers.1.mlp.down_proj.lora_B.weight"].shape.Should().Equal(16, 4);

        // PEFT's init: B = 0, A ~ U(−1/√in, 1/√in) (Kaiming-uniform, a = √5); in = 16 for q_proj, 24 for down_proj.
        foreach (var (name, value) in state.Where(p => p.Key.Contains(".lora_", StringComparison.Ordinal)))
        {
            if (name.EndsWith("lora_B.weight", StringComparison.Ordinal))
            {
                value.abs().max().item<double>().Should().Be(0, name);
            }
            else
            {
                double bound = 1 / Math.Sqrt(value.shape[1]);
                value.abs().max().item<double>().Should().BeLessThanOrEqualTo(bound, name).And.BeGreaterThan(bound / 2, name);
                double variance = value.square().mean().item<double>();
                variance.Should().BeApproximately(bound * bound / 3, bound * bound / 3 * 0.6, $"{name}: U(−b, b) has variance b²/3");
            }
        }

        using var other = CreateModel(seed: 1);
        LoraAdapters.Apply(other, new LoraOptions { Rank = 4, TargetModulesPattern = @"model\.layers\.1\.self_attn\.(q|v)_proj" })
            .ModulePaths.Should().Equal("model.layers.1.self_attn.q_proj", "model.layers.1.self_attn.v_proj");
        using var third = CreateModel(seed: 1);
        var act = () => LoraAdapters.Apply(third, new LoraOptions { TargetModules = ["proj"] });
        act.Should().Throw<ArgumentException>().WithMessage("No module of QwenForCausalLM matches TargetModules [proj].*", "a name matches after a dot, never inside a name");
        act = () => LoraAdapters.Apply(third, new LoraOptions { TargetModules = ["mlp"] });
        act.Should().Throw<ArgumentException>().WithMessage("*'model.layers.0.mlp' (QwenMlp)*'model.layers.1.mlp' (QwenMlp)*");
        act = () => LoraAdapters.Apply(third, new LoraOptions { TargetModules = ["lm_head"] });
        act.Should().Throw<ArgumentException>().WithMessage("The LM head 'lm_head' cannot take a LoRA adapter*");
        act = () => LoraAdapters.Apply(other, new LoraOptions { TargetModules = ["v_proj"] });
        act.Should().Throw<ArgumentException>().WithMessage("The layer 'model.layers.1.self_attn.v_proj' already has a LoRA adapter*");
    }

    [Fact]
    public void Invalid_options_are_listed_together()
    {
        var options = new LoraOptions { Rank = 0, Alpha = double.NaN, Dropout = 1, TargetModules = [] };
        var act = options.Validate;
        act.Should().Throw<ArgumentException>().WithMessage(
            "Invalid LoraOptions: Rank must be in [1, 65536]; got 0. Alpha must be finite and > 0; got NaN. Dropout must be in [0, 1); got 1. TargetModules must name at least one module when TargetModulesPattern is not set.*");
        act = new LoraOptions { TargetModulesPattern = "(" }.Validate;
        act.Should().Throw<ArgumentException>().WithMessage("*TargetModulesPattern is not a valid regular expression*got \"(\".*");
        new LoraOptions().TargetModules.Should().Equal("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj");
    }

    [Fact]
    public void The_layer_computes_W_x_plus_b_plus_scaled_B_A_x_and_its_gradients_match_plain_ops_and_finite_differences()
    {
        using var model = CreateModel(seed: 2);
        var adapters = LoraAdapters.Apply(model, new LoraOptions { Rank = 3, Alpha = 5, TargetModules = ["k_proj"], Seed = 9 });
        RandomiseB(adapters, seed: 4);
        var layer = Layer(model, "model.layers.0.self_attn.k_proj");
        var state = model.state_dict();
        using var generator = new Generator(11);
        var x = randn([2, 5, 16], ScalarType.Float64, generator: generator);
        var c = randn([2, 5, 8], ScalarType.Float64, generator: generator);

        // The reference: the formula with plain float64 ops on copies (leaves of their own graph).
        var w = state["model.layers.0.self_attn.k_proj.weight"].detach().clone();
        var b = state["model.layers.0.self_attn.k_proj.bias"].detach().clone();
        var a = state["model.layers.0.self_attn.k_proj.lora_A.weight"].detach().clone().requires_grad_(true);
        var bb = state["model.layers.0.self_attn.k_proj.lora_B.weight"].detach().clone().requires_grad_(true);
        var expected = x.matmul(w.t()) + b + (5.0 / 3.0 * x.matmul(a.t()).matmul(bb.t()));
        (expected * c).sum().backward();

        var y = layer.forward(x);
        (y - expected).abs().max().item<double>().Should().BeLessThan(1e-13);
        (y * c).sum().backward();
        var gradA = adapters.TrainableParameters[0].grad!;
        var gradB = adapters.TrainableParameters[1].grad!;
        (gradA - a.grad!).abs().max().item<double>().Should().BeLessThan(1e-12);
        (gradB - bb.grad!).abs().max().item<double>().Should().BeLessThan(1e-12);
        model.named_parameters().Where(p => !p.name.Contains(".lora_", StringComparison.Ordinal)).Should().OnlyContain(p => ReferenceEquals(p.parameter.grad, null), "the base gets no gradient");

        // Central finite differences of L(θ) = Σ c ⊙ y on a few entries of A and B.
        foreach (var (parameter, grad) in new[] { (adapters.TrainableParameters[0], gradA), (adapters.TrainableParameters[1], gradB) })
        {
            foreach (long index in new long[] { 0, 7, parameter.NumberOfElements - 1 })
            {
                double numeric = FiniteDifference(parameter, index, () => (layer.forward(x) * c).sum().item<double>());
                grad.view(-1)[index].item<double>().Should().BeApproximately(numeric, 1e-6);
            }
        }
    }

    [Fact]
    public void Switched_off_the_model_is_exactly_the_base_and_merged_it_equals_the_adapted_model()
    {
        using var model = CreateModel(seed: 3);
        using var generator = new Generator(13);
        var ids = randint(0, 40, [2, 6], ScalarType.Int64, generator: generator);
        var baseHidden = Hidden(model, ids);
        var baseWeights = model.state_dict().ToDictionary(p => p.Key, p => p.Value.detach().clone());

        var adapters = LoraAdapters.Apply(model, new LoraOptions { Rank = 4, Alpha = 16, Seed = 3 });
        RandomiseB(adapters, seed: 6);
        var adapted = Hidden(model, ids);
        (adapted - baseHidden).abs().max().item<double>().Should().BeGreaterThan(1e-3, "the adapters change the output (the test's sanity check)");
        using (adapters.DisableAdapters())
        {
            adapters.Enabled.Should().BeFalse();
            Hidden(model, ids).equal(baseHidden).all().item<bool>().Should().BeTrue("adapters off is the base model, bit for bit");
        }

        adapters.Enabled.Should().BeTrue();
        adapters.Merge();
        adapters.IsMerged.Should().BeTrue();
        (Hidden(model, ids) - adapted).abs().max().item<double>().Should().BeLessThan(1e-12, "W + (α/r) B A computes what the adapters add");
        var act = adapters.DisableAdapters;
        act.Should().Throw<InvalidOperationException>().WithMessage("*merged*Unmerge first*");
        var q = model.state_dict()["model.layers.1.self_attn.q_proj.weight"];
        var lora = model.state_dict();
        var expectedMerged = baseWeights["model.layers.1.self_attn.q_proj.weight"]
            + (4.0 * lora["model.layers.1.self_attn.q_proj.lora_B.weight"].matmul(lora["model.layers.1.self_attn.q_proj.lora_A.weight"]));
        (q - expectedMerged).abs().max().item<double>().Should().BeLessThan(1e-14);

        adapters.Unmerge();
        foreach (var (name, value) in model.state_dict().Where(p => !p.Key.Contains(".lora_", StringComparison.Ordinal)))
        {
            (value - baseWeights[name]).abs().max().item<double>().Should().BeLessThan(1e-14, name);
        }

        (Hidden(model, ids) - adapted).abs().max().item<double>().Should().BeLessThan(1e-12);
    }

    [Fact]
    public void PEFT_files_hold_the_expected_config_and_key_names_and_load_back_exactly()
    {
        using var model = CreateModel(seed: 4);
        var adapters = LoraAdapters.Apply(model, new LoraOptions { Rank = 2, Alpha = 4, Dropout = 0.05, TargetModules = ["q_proj", "v_proj"], Seed = 1 });
        RandomiseB(adapters, seed: 2);
        string adapterFolder = Path.Combine(_folder, "adapter");
        adapters.SavePeft(adapterFolder, "Qwen/Qwen2.5-1.5B-Instruct");

        Directory.GetFiles(adapterFolder).Select(Path.GetFileName).Should().BeEquivalentTo(["adapter_config.json", "adapter_model.safetensors"]);
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(adapterFolder, "adapter_config.json")))!;
        config["peft_type"]!.GetValue<string>().Should().Be("LORA");
        config["task_type"]!.GetValue<string>().Should().Be("CAUSAL_LM");
        config["r"]!.GetValue<int>().Should().Be(2);
        config["lora_alpha"]!.GetValue<double>().Should().Be(4);
        config["lora_dropout"]!.GetValue<double>().Should().Be(0.05);
        config["bias"]!.GetValue<string>().Should().Be("none");
        config["fan_in_fan_out"]!.GetValue<bool>().Should().BeFalse();
        config["use_rslora"]!.GetValue<bool>().Should().BeFalse();
        config["use_dora"]!.GetValue<bool>().Should().BeFalse();
        config["base_model_name_or_path"]!.GetValue<string>().Should().Be("Qwen/Qwen2.5-1.5B-Instruct");
        config["target_modules"]!.AsArray().Select(n => n!.GetValue<string>()).Should().Equal("q_proj", "v_proj");
        config["modules_to_save"].Should().BeNull();

        var saved = IndependentSafetensors.Read(Path.Combine(adapterFolder, "adapter_model.safetensors"));
        saved.Keys.Should().BeEquivalentTo(
        [
            "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight", "base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight",
            "base_model.model.model.layers.0.self_attn.v_proj.lora_A.weight", "base_model.model.model.layers.0.self_attn.v_proj.lora_B.weight",
            "base_model.model.model.layers.1.self_attn.q_proj.lora_A.weight", "base_model.model.model.layers.1.self_attn.q_proj.lora_B.weight",
            "base_model.model.model.layers.1.self_attn.v_proj.lora_A.weight", "base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight",
        ]);
        var state = model.state_dict();
        foreach (var (key, value) in saved)
        {
            value.equal(state[key["base_model.model.".Length..]]).all().item<bool>().Should().BeTrue(key);
        }

        saved["base_model.model.model.layers.0.self_attn.v_proj.lora_A.weight"].shape.Should().Equal(2, 16);
        saved["base_model.model.model.layers.0.self_attn.v_proj.lora_B.weight"].shape.Should().Equal(8, 2);

        // Load into a fresh copy of the base with adapters from the file's own options: the same outputs, bit for bit.
        using var copy = CreateModel(seed: 4);
        var options = LoraAdapters.ReadPeftOptions(adapterFolder);
        options.Rank.Should().Be(2);
        options.TargetModules.Should().Equal("q_proj", "v_proj");
        var loaded = LoraAdapters.Apply(copy, options);
        loaded.LoadPeft(adapterFolder);
        using var generator = new Generator(3);
        var ids = randint(0, 40, [2, 5], ScalarType.Int64, generator: generator);
        model.eval();
        copy.eval();
        Hidden(copy, ids).equal(Hidden(model, ids)).all().item<bool>().Should().BeTrue();

        // Loading over merged adapters would leave W holding the old ΔW while Unmerge subtracts the new one: refused.
        loaded.Merge();
        loaded.Invoking(l => l.LoadPeft(adapterFolder)).Should().Throw<InvalidOperationException>().WithMessage("*merged*Unmerge before you load adapter weights*");
        loaded.Unmerge();

        using var wrongRank = CreateModel(seed: 4);
        var act = () => LoraAdapters.Apply(wrongRank, new LoraOptions { Rank = 3, Alpha = 4, TargetModules = ["q_proj", "v_proj"] }).LoadPeft(adapterFolder);
        act.Should().Throw<SnapshotFormatException>().WithMessage("*has r = 2, lora_alpha = 4; these adapters have r = 3, lora_alpha = 4.");

        // PEFT features these adapters do not implement would load and compute something else (rsLoRA scales by α/√r): refused.
        string configPath = Path.Combine(adapterFolder, LoraAdapters.ConfigFileName);
        var edited = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(configPath))!;
        edited["use_rslora"] = true;
        edited["alpha_pattern"] = new System.Text.Json.Nodes.JsonObject { ["q_proj"] = 16 };
        File.WriteAllText(configPath, edited.ToJsonString());
        var read = () => LoraAdapters.ReadPeftOptions(adapterFolder);
        read.Should().Throw<SnapshotFormatException>().WithMessage("*asks for PEFT features these adapters do not implement (use_rslora is true; alpha_pattern is not empty)*");
        using var another = CreateModel(seed: 4);
        act = () => LoraAdapters.Apply(another, options).LoadPeft(adapterFolder);
        act.Should().Throw<SnapshotFormatException>().WithMessage("*use_rslora is true*");

        edited["use_rslora"] = false;
        edited["alpha_pattern"] = new System.Text.Json.Nodes.JsonObject();
        edited["target_modules"] = new System.Text.Json.Nodes.JsonArray("q_proj", null);
        File.WriteAllText(configPath, edited.ToJsonString());
        read.Should().Throw<SnapshotFormatException>().WithMessage("*has a null entry in \"target_modules\"*");
    }

    [Fact]
    public void A_merged_export_through_the_Hugging_Face_save_reloads_as_a_plain_model_computing_the_adapted_output()
    {
        using var model = CreateModel(seed: 5);
        var adapters = LoraAdapters.Apply(model, new LoraOptions { Rank = 4, Alpha = 8, Seed = 2 });
        RandomiseB(adapters, seed: 8);
        using var generator = new Generator(5);
        var ids = randint(0, 40, [1, 7], ScalarType.Int64, generator: generator);
        var adapted = Hidden(model, ids);

        // Active, unmerged adapters: the snapshot would lack them, so the save refuses (and writes nothing).
        string refused = Path.Combine(_folder, "with-adapters");
        var save = () => model.SavePretrained(refused);
        save.Should().Throw<InvalidOperationException>().WithMessage("*LoRA adapter(s) (first 'model.layers.0.*') are switched on and not merged*Merge()*");
        Directory.Exists(refused).Should().BeFalse();

        // Inside DisableAdapters the base weights are what the model computes, and what the snapshot holds.
        string plain = Path.Combine(_folder, "base");
        var baseHidden = default(Tensor);
        using (adapters.DisableAdapters())
        {
            model.SavePretrained(plain);
            baseHidden = Hidden(model, ids);
        }

        IndependentSafetensors.Read(Path.Combine(plain, "model.safetensors")).Keys.Should().NotContain(k => k.Contains("lora", StringComparison.Ordinal), "a Hugging Face snapshot holds the base weights only");
        using (var reloadedBase = QwenForCausalLM.FromPretrained(plain, dtype: ScalarType.Float64))
        {
            (Hidden(reloadedBase, ids) - baseHidden).abs().max().item<double>().Should().BeLessThan(1e-12);
        }

        string merged = Path.Combine(_folder, "merged");
        adapters.Merge();
        model.SavePretrained(merged);
        adapters.Unmerge();
        using var reloaded = QwenForCausalLM.FromPretrained(merged, dtype: ScalarType.Float64);
        (Hidden(reloaded, ids) - adapted).abs().max().item<double>().Should().BeLessThan(1e-12);
    }

    [Fact]
    public void Bfloat16_adapters_take_their_layers_dtype_and_merge_through_float32()
    {
        using var model = new QwenForCausalLM(QwenConfig.Parse(Config), dtype: ScalarType.BFloat16);
        var adapters = LoraAdapters.Apply(model, new LoraOptions { Rank = 4, Alpha = 4, TargetModules = ["o_proj"], Seed = 1 });
        adapters.TrainableParameters.Should().OnlyContain(p => p.dtype == ScalarType.BFloat16);
        RandomiseB(adapters, seed: 3);
        var w = model.state_dict()["model.layers.0.self_attn.o_proj.weight"];
        var original = w.to(ScalarType.Float64);
        var delta = adapters.TrainableParameters[1].to(ScalarType.Float64).matmul(adapters.TrainableParameters[0].to(ScalarType.Float64));

        adapters.Merge();
        // One rounding of W + ΔW to bf16: within half a unit in the last place (2⁻⁸ relative) of the exact sum.
        var exact = original + delta;
        ((w.to(ScalarType.Float64) - exact).abs() - (exact.abs() * Math.Pow(2, -8) * 1.01)).max().item<double>().Should().BeLessThanOrEqualTo(1e-7);
        adapters.Unmerge();
        ((w.to(ScalarType.Float64) - original).abs() - ((exact.abs() + original.abs()) * Math.Pow(2, -8) * 1.01)).max().item<double>()
            .Should().BeLessThanOrEqualTo(1e-7, "two roundings, half a unit each (float32 sums add at most 2⁻²⁴ relative)");
    }

    internal static QwenForCausalLM CreateModel(long seed)
    {
        var model = new QwenForCausalLM(QwenConfig.Parse(Config), dtype: ScalarType.Float64, initialize: false);
        using var generator = new Generator((ulong)seed);
        using (no_grad())
        {
            foreach (var (_, parameter) in model.named_parameters())
            {
                parameter.copy_(randn(parameter.shape, ScalarType.Float64, generator: generator) * 0.3);
            }
        }

        return model;
    }

    internal static Tensor Hidden(QwenForCausalLM model, Tensor ids)
    {
        using var noGrad = no_grad();
        return model.Forward(ids, null, null, null);
    }

    private static QwenLinear Layer(nn.Module model, string path) => (QwenLinear)model.named_modules().Single(m => m.name == path).module;

    internal static void RandomiseB(LoraAdapters adapters, long seed)
    {
        using var generator = new Generator((ulong)seed);
        using var noGrad = no_grad();
        foreach (var b in adapters.TrainableParameters.Where((_, i) => i % 2 == 1))
        {
            b.copy_(randn(b.shape, b.dtype, generator: generator) * 0.5);
        }
    }

    private static double FiniteDifference(Parameter parameter, long index, Func<double> loss)
    {
        const double h = 1e-6;
        using var noGrad = no_grad();
        var flat = parameter.view(-1);
        double original = flat[index].item<double>();
        flat[index] = original + h;
        double plus = loss();
        flat[index] = original - h;
        double minus = loss();
        flat[index] = original;
        return (plus - minus) / (2 * h);
    }
}
