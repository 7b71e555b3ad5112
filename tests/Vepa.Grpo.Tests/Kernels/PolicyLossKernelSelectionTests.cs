using System.Text.Json.Nodes;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Options;
using MyKernels;
using Vepa.Grpo.Kernels;
using Vepa.Grpo.Tests.Training;
using static TorchSharp.torch;
using Shape = Vepa.Grpo.Tests.LossTestData.Shape;

namespace Vepa.Grpo.Tests.Kernels;

/// <summary>How <see cref="PolicyLossOptions.Kernel"/> picks the policy-loss kernel: by registered name, automatically, from
/// configuration, for training, and from checkpoints written when the choice was an enum.</summary>
[Collection("Sequential")]
public sealed class PolicyLossKernelSelectionTests
{
    private const string VepaKernels = "fused-tensor, managed, auto, cuda";

    // What the user kernel implements (TRL's clip with token-mean aggregation), so it can run every case here.
    private static PolicyLossOptions TrlStyle(KernelRegistry? registry, string? kernel) =>
        new() { Aggregation = LossAggregation.TokenMean, Kernels = registry, Kernel = kernel };

    public static TheoryData<string, string> InputKinds() => new()
    {
        { "float32", "managed" },
        { "float64", "managed" },
        { "float64 with an int64 mask and float32 advantages", "managed" },
        { "bfloat16", "fused-tensor" },
        { "float16", "fused-tensor" },
        { "float64, transposed", "fused-tensor" },
    };

    [Theory]
    [MemberData(nameof(InputKinds))]
    public void The_automatic_choice_is_managed_for_contiguous_cpu_float_log_probs_and_fused_tensor_otherwise(string kind, string expected)
    {
        using var scope = NewDisposeScope();
        PolicyLossInputs inputs = Inputs(kind);

        BuiltInPolicyLossKernel.Choose(inputs).Name.Should().Be(expected);
        foreach (string? name in new[] { null, "auto", "AUTO" })
        {
            new PolicyLossOptions { Kernel = name }.ValidatedKernel().Should().BeSameAs(BuiltInPolicyLossKernel.Auto, $"Kernel = {name ?? "null"}");
        }
    }

    [Fact]
    public void A_kernel_is_chosen_by_its_registered_name_in_any_case()
    {
        using var scope = NewDisposeScope();
        PolicyLossInputs inputs = Inputs("float64, transposed");
        double expected = LossTestData.RunReference(inputs, new PolicyLossOptions()).Loss;

        // The transposed log-probs tell the kernels apart: the managed kernel refuses them, the fused tensor kernel runs them.
        Action managed = () => PolicyLoss.Compute(inputs, new PolicyLossOptions { Kernel = "Managed" });
        managed.Should().Throw<ArgumentException>().WithMessage("The managed kernel cannot run on these inputs: LogProbs is not contiguous*");
        using PolicyLossResult fused = PolicyLoss.Compute(inputs, new PolicyLossOptions { Kernel = "FUSED-tensor" });
        LossTestData.AssertClose(fused.Loss.item<double>(), expected, 1e-12, "fused-tensor loss");
        using PolicyLossResult automatic = PolicyLoss.Compute(inputs, new PolicyLossOptions { Kernel = "auto" });
        LossTestData.AssertClose(automatic.Loss.item<double>(), expected, 1e-12, "auto loss");
    }

    [Fact]
    public void A_kernel_the_host_registered_runs_by_name_and_refuses_what_it_does_not_support()
    {
        using var scope = NewDisposeScope();
        var mine = new CountingKernel("mine", new TrlStylePolicyLossKernel());
        KernelRegistry registry = KernelRegistry.CreateDefault().Add(mine);
        PolicyLossInputs inputs = LossTestData.Random(21, new Shape(5, 17) { WithReference = false, WithSampler = false });
        PolicyLossOptions options = TrlStyle(registry, "MINE");

        using PolicyLossResult result = PolicyLoss.Compute(inputs, options);

        mine.Calls.Should().Be(1);
        (double loss, PolicyLossStatistics statistics, _) = LossTestData.RunReference(inputs, options);
        LossTestData.AssertClose(result.Loss.item<double>(), loss, 1e-12, "loss");
        result.Statistics.TokenCount.Should().Be(statistics.TokenCount);

        options.Beta = 0.01;
        Action unsupported = () => PolicyLoss.Compute(inputs with { ReferenceLogProbs = inputs.LogProbs.detach() }, options);
        unsupported.Should().Throw<ArgumentException>()
            .WithMessage("The mine kernel cannot run on these inputs: only the token-level clip objective with token-mean aggregation (Parameter 'inputs')")
            .And.ParamName.Should().Be("inputs");
        mine.Calls.Should().Be(1);
    }

    [Fact]
    public void An_unknown_name_is_an_options_error_that_lists_the_registered_names()
    {
        using var scope = NewDisposeScope();
        var options = new PolicyLossOptions { Kernel = "fuzed-tensor" };

        options.Invoking(o => o.Validate()).Should().Throw<ArgumentException>().WithMessage(
            "Invalid PolicyLossOptions: Kernel must name a registered policy-loss kernel or be null (the automatic choice); got 'fuzed-tensor'. " +
            $"Registered (Vepa's kernels; set Kernels to a registry holding yours): {VepaKernels}. (Parameter 'options')");
        Action compute = () => PolicyLoss.Compute(LossTestData.Random(1, new Shape(2, 3)), options);
        compute.Should().Throw<ArgumentException>().WithMessage("*got 'fuzed-tensor'*");

        // The host's registry is the one listed; the automatic choice needs no entry in it.
        var own = new KernelRegistry().Add(new TrlStylePolicyLossKernel());
        new PolicyLossOptions { Kernels = own, Kernel = "managed" }.Invoking(o => o.Validate()).Should().Throw<ArgumentException>()
            .WithMessage("*got 'managed'. Registered: my-trl-style, auto. (Parameter 'options')");
        new PolicyLossOptions { Kernels = own }.ValidatedKernel().Should().BeSameAs(BuiltInPolicyLossKernel.Auto);
    }

    [Fact]
    public void Options_changed_after_a_call_are_validated_again_and_a_copy_keeps_its_own_settings()
    {
        using var scope = NewDisposeScope();
        PolicyLossInputs inputs = LossTestData.Random(3, new Shape(3, 8));
        var options = new PolicyLossOptions { Kernel = "managed" };
        PolicyLoss.Compute(inputs, options).Dispose();
        PolicyLossOptions copy = options.Clone();

        options.EpsilonLow = 1.5;
        Action compute = () => PolicyLoss.Compute(inputs, options);
        compute.Should().Throw<ArgumentException>().WithMessage("Invalid PolicyLossOptions: EpsilonLow must be in [0, 1); got 1.5.*");
        options.EpsilonLow = 0.2;
        options.Kernel = "nope";
        compute.Should().Throw<ArgumentException>().WithMessage("*got 'nope'*");

        copy.ValidatedKernel().Should().BeSameAs(BuiltInPolicyLossKernel.Managed);
        copy.Kernel = "fused-tensor";
        copy.ValidatedKernel().Should().BeSameAs(BuiltInPolicyLossKernel.FusedTensor);
    }

    [Fact]
    public async Task A_kernel_the_host_registered_trains_the_policy()
    {
        var mine = new CountingKernel("mine", new TrlStylePolicyLossKernel());
        GrpoTrainerOptions options = TrainerCheckpointFolderTests.Options(null);
        options.Loss = TrlStyle(KernelRegistry.CreateDefault().Add(mine), "mine");
        using var policy = TrainerCheckpointFolderTests.NewPolicy(seed: 1);
        using var trainer = new GrpoTrainer(policy, TrainerCheckpointFolderTests.Reward(), options);

        GrpoStepRecord record = await trainer.StepAsync(ToyTask.Batch(0, 3));

        mine.Calls.Should().Be(1, "one minibatch of one micro-batch, one iteration");
        record.Loss.Should().Be(mine.LastLoss);
        record.OptimizerSteps.Should().Be(1);
    }

    [Fact]
    public async Task Configuration_names_the_kernel_and_the_container_supplies_the_registry()
    {
        var mine = new CountingKernel("mine", new TrlStylePolicyLossKernel());
        ServiceProvider Build(string kernel, KernelRegistry? registry)
        {
            var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Vepa:Grpo:GroupSize"] = "3",
                ["Vepa:Grpo:Sampling:MaxNewTokens"] = "3",
                ["Vepa:Grpo:Sampling:StopTokenIds:0"] = "0",
                ["Vepa:Grpo:Loss:Beta"] = "0",
                ["Vepa:Grpo:Loss:Aggregation"] = "TokenMean",
                ["Vepa:Grpo:Loss:Kernel"] = kernel,
            }).Build();
            var services = new ServiceCollection().AddSingleton<IConfiguration>(configuration);
            if (registry is not null)
            {
                services.AddSingleton(registry);
            }

            services.AddSingleton<IRewardModel>(TrainerCheckpointFolderTests.Reward());
            services.AddGrpoTrainer(_ => TrainerCheckpointFolderTests.NewPolicy(seed: 1), "Vepa:Grpo");
            return services.BuildServiceProvider();
        }

        await using (var provider = Build("fused-tensor", registry: null))
        {
            provider.GetRequiredService<GrpoTrainer>().Options.Loss.Kernel.Should().Be("fused-tensor");
        }

        await using (var provider = Build("mine", registry: null))
        {
            var start = () => provider.GetRequiredService<IStartupValidator>().Validate();
            start.Should().Throw<OptionsValidationException>().Which.Failures.Should().ContainSingle().Which.Should()
                .StartWith("Loss.Kernel must name a registered policy-loss kernel or be null (the automatic choice); got 'mine'.");
        }

        await using (var provider = Build("mine", KernelRegistry.CreateDefault().Add(mine)))
        {
            provider.GetRequiredService<IStartupValidator>().Validate();
            var trainer = provider.GetRequiredService<GrpoTrainer>();
            await trainer.StepAsync(ToyTask.Batch(0, 3));
            mine.Calls.Should().Be(1);
        }
    }

    [Theory]
    [InlineData("Auto", null, null)]
    [InlineData("FusedTensor", "fused-tensor", null)]
    [InlineData("Managed", "managed", null)]
    [InlineData("Managed", null, "Loss.Kernel: \"managed\" -> null")]
    public async Task A_checkpoint_that_recorded_the_old_kernel_enum_resumes_with_its_kernel_name(string saved, string? current, string? warning)
    {
        using var folder = new TempFolder();
        GrpoTrainerOptions options = TrainerCheckpointFolderTests.Options(folder.Path);
        using (var policy = TrainerCheckpointFolderTests.NewPolicy(seed: 1))
        using (var trainer = new GrpoTrainer(policy, TrainerCheckpointFolderTests.Reward(), options))
        {
            await trainer.TrainAsync(TrainerCheckpointFolderTests.Batches(1));
        }

        // Rewrite the checkpoint's options as a version with the enum wrote them.
        string metadata = Path.Combine(folder.Path, "step-00000001", "trainer.json");
        JsonNode root = JsonNode.Parse(File.ReadAllText(metadata))!;
        root["options"]!["Loss"]!["Kernel"] = saved;
        File.WriteAllText(metadata, root.ToJsonString());

        var logs = new FakeLogCollector();
        using var loggerFactory = LoggerFactory.Create(b => b.AddProvider(new FakeLoggerProvider(logs)));
        options.Loss.Kernel = current;
        using (var policy = TrainerCheckpointFolderTests.NewPolicy(seed: 2))
        using (var trainer = new GrpoTrainer(policy, TrainerCheckpointFolderTests.Reward(), options, loggerFactory: loggerFactory))
        {
            await trainer.ResumeAsync(folder.Path);
            trainer.CompletedSteps.Should().Be(1);
        }

        var warnings = logs.GetSnapshot().Where(r => r.Level == LogLevel.Warning).Select(r => r.Message).ToArray();
        if (warning is null)
        {
            warnings.Should().BeEmpty("the saved enum value names the same kernel");
        }
        else
        {
            warnings.Should().ContainSingle().Which.Should().Contain(warning);
        }
    }

    private static PolicyLossInputs Inputs(string kind)
    {
        PolicyLossInputs Random(ScalarType dtype) => LossTestData.Random(7, new Shape(4, 9) { Dtype = dtype });
        return kind switch
        {
            "float32" => Random(ScalarType.Float32),
            "float64" => Random(ScalarType.Float64),
            "float64 with an int64 mask and float32 advantages" => Random(ScalarType.Float64) is var i
                ? i with { Mask = i.Mask.to(ScalarType.Int64), Advantages = i.Advantages.to(ScalarType.Float32) }
                : null!,
            "bfloat16" => Random(ScalarType.BFloat16),
            "float16" => Random(ScalarType.Float16),
            "float64, transposed" => Random(ScalarType.Float64) is var t
                ? t with { LogProbs = t.LogProbs.detach().t().contiguous().requires_grad_().t() }
                : null!,
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown input kind"),
        };
    }

    /// <summary>A user's kernel under its own name that counts its calls and remembers its last loss.</summary>
    private sealed class CountingKernel(string name, IPolicyLossKernel inner) : IPolicyLossKernel
    {
        public string Name => name;

        public int Calls { get; private set; }

        public double LastLoss { get; private set; }

        public bool Supports(PolicyLossInputs inputs, PolicyLossOptions options, out string? reason) => inner.Supports(inputs, options, out reason);

        public PolicyLossResult Compute(PolicyLossInputs inputs, PolicyLossOptions options)
        {
            Calls++;
            PolicyLossResult result = inner.Compute(inputs, options);
            LastLoss = result.Loss.detach().to(ScalarType.Float64).item<double>();
            return result;
        }
    }
}
