using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Vepa.Grpo.Kernels;
using Vepa.Grpo.Tests.Advantages;
using Vepa.Grpo.Tests.Training;
using static TorchSharp.torch;

namespace Vepa.Grpo.Tests.Kernels;

/// <summary>How <see cref="AdvantageOptions.Kernel"/> picks the advantage kernel: by registered name, automatically, from
/// configuration, for training, and from checkpoints written before the option existed.</summary>
[Collection("Sequential")]
public sealed class AdvantageKernelSelectionTests
{
    private const string VepaKernels = "tensor, managed, auto, cuda";

    public static TheoryData<string, string> InputKinds() => new()
    {
        { "float32", "managed" },
        { "float64", "managed" },
        { "two float64 components", "managed" },
        { "bfloat16", "tensor" },
        { "float16", "tensor" },
        { "float64, transposed", "tensor" },
    };

    [Theory]
    [MemberData(nameof(InputKinds))]
    public void The_automatic_choice_is_managed_for_contiguous_cpu_float_rewards_and_tensor_otherwise(string kind, string expected)
    {
        using var scope = NewDisposeScope();
        var options = new AdvantageOptions();
        Tensor[] rewards = Rewards(kind);
        AdvantageBatch batch = AdvantageValidation.Validate(rewards, [.. rewards.Select(_ => 1.0)], options, "components");

        BuiltInAdvantageKernel.Choose(batch).Name.Should().Be(expected);
        BuiltInAdvantageKernel.ChoosesCuda(batch, options).Should().BeFalse("the rewards are on the CPU");
        foreach (string? name in new[] { null, "auto", "AUTO" })
        {
            new AdvantageOptions { Kernel = name }.ValidatedKernel().Should().BeSameAs(BuiltInAdvantageKernel.Auto, $"Kernel = {name ?? "null"}");
        }
    }

    [Fact]
    public void A_kernel_is_chosen_by_its_registered_name_in_any_case()
    {
        using var scope = NewDisposeScope();
        double[,] values = { { 1, 2, 4, 8 }, { 0, 0, 1, double.NaN } };
        Tensor transposed = AdvantageTestData.Rewards(values).t().contiguous().t();
        AdvantageReference.Expected expected = AdvantageReference.Compute(
            [[1, 2, 4, 8, 0, 0, 1, double.NaN]], [1.0], 2, 4, AdvantageNormalization.GroupStd, RewardCombination.SumThenNormalize, 1e-4);

        // The transposed rewards tell the kernels apart: the managed kernel refuses them, the tensor kernel runs them.
        Action managed = () => GroupAdvantages.Compute(transposed, new AdvantageOptions { Kernel = "Managed" });
        managed.Should().Throw<ArgumentException>().WithMessage("The managed advantage kernel cannot run on these inputs: rewards is not contiguous*");
        foreach (string name in new[] { "TENSOR", "auto" })
        {
            using AdvantageResult result = GroupAdvantages.Compute(transposed, new AdvantageOptions { Kernel = name });
            AdvantageTestData.Read(result.Advantages).Should().Equal(expected.Advantages, (a, b) => Math.Abs(a - b) <= 1e-12, name);
        }
    }

    [Fact]
    public void A_kernel_the_host_registered_runs_by_name_on_the_combined_rewards()
    {
        using var scope = NewDisposeScope();
        var mine = new MeanCenteredKernel("mine");
        var options = new AdvantageOptions { Kernels = KernelRegistry.CreateDefault().Add(mine), Kernel = "MINE", GroupSize = 3 };
        double[] a = [1, 2, 6, 5, 5, 5, 0, double.NaN, 3];
        double[] b = [0, 1, 1, 2, 2, 2, 4, 4, -3];
        double[] weights = [1.0, 0.5];

        using AdvantageResult result = GroupAdvantages.Compute([AdvantageTestData.Flat(a, ScalarType.Float32), AdvantageTestData.Flat(b, ScalarType.Float32)], weights, options);

        // Rewards 1 + 0 = 1, 2.5, 6.5 (mean 10/3); 6, 6, 6 (no signal); 2, NaN, 1.5 (mean 1.75).
        mine.Calls.Should().Be(1);
        mine.LastRewards.Should().Equal(1, 2.5, 6.5, 6, 6, 6, 2, double.NaN, 1.5);
        AdvantageReference.Expected expected = AdvantageReference.Compute([a, b], weights, 3, 3, AdvantageNormalization.MeanCentered, RewardCombination.SumThenNormalize, 0);
        result.Advantages.shape.Should().Equal([9L], "flat rewards give flat advantages");
        result.Advantages.dtype.Should().Be(ScalarType.Float32);
        AdvantageTestData.Read(result.Advantages).Should().Equal(expected.Advantages, (x, y) => Math.Abs(x - y) <= 1e-6);
        AdvantageTestData.ReadFlags(result.ZeroSignalGroups).Should().Equal(expected.ZeroSignal);
        result.ZeroSignalGroupCount.Should().Be(1);
        result.ExcludedRewardCount.Should().Be(1);

        // Normalise-then-sum is not the contract's to do: the call fails rather than running Vepa's kernel instead.
        options.Combination = RewardCombination.NormalizeThenSum;
        Action separately = () => GroupAdvantages.Compute([AdvantageTestData.Flat(a), AdvantageTestData.Flat(b)], weights, options);
        separately.Should().Throw<ArgumentException>().WithMessage(
            "The mine advantage kernel takes one combined reward per rollout; Combination = NormalizeThenSum over 2 reward components needs one of Vepa's kernels*");
        Action infinite = () => GroupAdvantages.Compute(AdvantageTestData.Flat([1, double.PositiveInfinity, 2]), options);
        infinite.Should().Throw<ArgumentException>().WithMessage("rewards holds 1 infinite value(s), the first at flat index 1*");
        mine.Calls.Should().Be(1);
    }

    [Fact]
    public void A_registered_kernel_that_breaks_the_shape_contract_fails_loudly()
    {
        using var scope = NewDisposeScope();
        var options = new AdvantageOptions { Kernels = new KernelRegistry().Add(new FlatKernel()), Kernel = "flat" };

        Action compute = () => GroupAdvantages.Compute(AdvantageTestData.Rewards(new double[,] { { 1, 2 }, { 3, 5 } }), options);

        compute.Should().Throw<InvalidOperationException>()
            .WithMessage("The flat advantage kernel returned [4] on cpu; its contract is [P, G] = [2, 2] on the rewards' device cpu.");
    }

    [Fact]
    public void An_unknown_name_is_an_options_error_that_lists_the_registered_names()
    {
        using var scope = NewDisposeScope();
        var options = new AdvantageOptions { Kernel = "tensr" };

        options.Invoking(o => o.Validate()).Should().Throw<ArgumentException>().WithMessage(
            "Invalid AdvantageOptions: Kernel must name a registered advantage kernel or be null (the automatic choice); got 'tensr'. " +
            $"Registered (Vepa's kernels; set Kernels to a registry holding yours): {VepaKernels}. (Parameter 'options')");
        Action compute = () => GroupAdvantages.Compute(AdvantageTestData.Rewards(new double[,] { { 1, 2 } }), options);
        compute.Should().Throw<ArgumentException>().WithMessage("*got 'tensr'*");

        // The host's registry is the one listed; the automatic choice needs no entry in it.
        var own = new KernelRegistry().Add(new MeanCenteredKernel("mine"));
        new AdvantageOptions { Kernels = own, Kernel = "managed" }.Invoking(o => o.Validate()).Should().Throw<ArgumentException>()
            .WithMessage("*got 'managed'. Registered: mine, auto. (Parameter 'options')");
        new AdvantageOptions { Kernels = own }.ValidatedKernel().Should().BeSameAs(BuiltInAdvantageKernel.Auto);
    }

    [Fact]
    public void Options_changed_after_a_call_are_validated_again_and_a_copy_keeps_its_own_settings()
    {
        using var scope = NewDisposeScope();
        Tensor rewards = AdvantageTestData.Rewards(new double[,] { { 1, 2, 3 } });
        var options = new AdvantageOptions { Kernel = "managed" };
        GroupAdvantages.Compute(rewards, options).Dispose();
        AdvantageOptions copy = options.Clone();

        options.Epsilon = -1;
        Action compute = () => GroupAdvantages.Compute(rewards, options);
        compute.Should().Throw<ArgumentException>().WithMessage("Invalid AdvantageOptions: Epsilon must be finite and >= 0*");
        options.Epsilon = 1e-4;
        options.Kernel = "nope";
        compute.Should().Throw<ArgumentException>().WithMessage("*got 'nope'*");

        copy.ValidatedKernel().Should().BeSameAs(BuiltInAdvantageKernel.Managed);
        copy.Kernel = "tensor";
        copy.ValidatedKernel().Should().BeSameAs(BuiltInAdvantageKernel.Tensor);
    }

    [Fact]
    public async Task A_kernel_the_host_registered_gives_a_trainer_step_its_advantages()
    {
        var mine = new MeanCenteredKernel("mine");
        GrpoTrainerOptions options = TrainerCheckpointFolderTests.Options(null);
        options.Advantages = new AdvantageOptions { Kernels = KernelRegistry.CreateDefault().Add(mine), Kernel = "mine" };
        using var policy = TrainerCheckpointFolderTests.NewPolicy(seed: 1);
        using var trainer = new GrpoTrainer(policy, TrainerCheckpointFolderTests.Reward(), options);

        GrpoStepRecord record = await trainer.StepAsync(ToyTask.Batch(0, 3));

        mine.Calls.Should().Be(1);
        record.RolloutAdvantages.Should().Equal(MeanCentered(mine.LastRewards, options.GroupSize), (x, y) => Math.Abs(x - y) <= 1e-12);
    }

    [Fact]
    public async Task Configuration_names_the_kernel_and_the_container_supplies_the_registry()
    {
        var mine = new MeanCenteredKernel("mine");
        ServiceProvider Build(string kernel, KernelRegistry? registry)
            => KernelSelectionHost.Build(new Dictionary<string, string?> { ["Advantages:Kernel"] = kernel }, registry);

        await using (var provider = Build("Tensor", registry: null))
        {
            provider.GetRequiredService<GrpoTrainer>().Options.Advantages.Kernel.Should().Be("Tensor");
        }

        await using (var provider = Build("mine", registry: null))
        {
            var start = () => provider.GetRequiredService<IStartupValidator>().Validate();
            start.Should().Throw<OptionsValidationException>().Which.Failures.Should().ContainSingle().Which.Should()
                .StartWith("Advantages.Kernel must name a registered advantage kernel or be null (the automatic choice); got 'mine'.");
        }

        await using (var provider = Build("mine", KernelRegistry.CreateDefault().Add(mine)))
        {
            provider.GetRequiredService<IStartupValidator>().Validate();
            await provider.GetRequiredService<GrpoTrainer>().StepAsync(ToyTask.Batch(0, 3));
            mine.Calls.Should().Be(1);
        }
    }

    [Theory]
    [InlineData(null, null)]
    [InlineData("AUTO", null)]
    [InlineData("tensor", "Advantages.Kernel: null -> \"tensor\"")]
    public async Task A_checkpoint_written_before_the_option_existed_resumes_with_the_automatic_choice(string? current, string? warning)
    {
        string[] warnings = await KernelSelectionHost.ResumeWarnings(
            saved => saved["Advantages"]!.AsObject().Remove("Kernel").Should().BeTrue("the checkpoint saved the option"),
            options => options.Advantages.Kernel = current);
        if (warning is null)
        {
            warnings.Should().BeEmpty("no kernel name was the automatic choice");
        }
        else
        {
            warnings.Should().ContainSingle().Which.Should().Contain(warning);
        }
    }

    private static Tensor[] Rewards(string kind)
    {
        double[,] values = { { 1, 2, 4 }, { 3, 3, 0 } };
        return kind switch
        {
            "float32" => [AdvantageTestData.Rewards(values, ScalarType.Float32)],
            "float64" => [AdvantageTestData.Rewards(values)],
            "two float64 components" => [AdvantageTestData.Rewards(values), AdvantageTestData.Rewards(values)],
            "bfloat16" => [AdvantageTestData.Rewards(values, ScalarType.BFloat16)],
            "float16" => [AdvantageTestData.Rewards(values, ScalarType.Float16)],
            "float64, transposed" => [AdvantageTestData.Rewards(values).t().contiguous().t()],
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown input kind"),
        };
    }

    /// <summary>r − mean of the group's valid rewards; 0 for NaN and for groups with fewer than 2 valid, all-equal rewards.</summary>
    private static double[] MeanCentered(double[] rewards, int g)
    {
        var advantages = new double[rewards.Length];
        for (int start = 0; start < rewards.Length; start += g)
        {
            double[] valid = [.. rewards.Skip(start).Take(g).Where(r => !double.IsNaN(r))];
            bool signal = valid.Length >= 2 && valid.Min() != valid.Max();
            for (int i = start; i < start + g; i++)
            {
                advantages[i] = signal && !double.IsNaN(rewards[i]) ? rewards[i] - valid.Average() : 0;
            }
        }

        return advantages;
    }

    /// <summary>A user's kernel under its own name: mean-centred advantages whatever the options' normalisation, so that its
    /// output differs from Vepa's default; it counts its calls and remembers the rewards it was given.</summary>
    private sealed class MeanCenteredKernel(string name) : IAdvantageKernel
    {
        public string Name => name;

        public int Calls { get; private set; }

        public double[] LastRewards { get; private set; } = [];

        public Tensor Compute(Tensor rewards, AdvantageOptions options)
        {
            Calls++;
            LastRewards = AdvantageTestData.Read(rewards);
            int g = checked((int)rewards.shape[1]);
            return tensor(MeanCentered(LastRewards, g), rewards.shape, ScalarType.Float64);
        }
    }

    /// <summary>A kernel that returns its advantages flat instead of [P, G].</summary>
    private sealed class FlatKernel : IAdvantageKernel
    {
        public string Name => "flat";

        public Tensor Compute(Tensor rewards, AdvantageOptions options) => zeros(rewards.numel(), ScalarType.Float64);
    }
}
