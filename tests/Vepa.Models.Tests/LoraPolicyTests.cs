using TorchSharp;
using Vepa.Grpo;
using static TorchSharp.torch;

namespace Vepa.Models.Tests;

/// <summary><see cref="LoraPolicy"/> on the tiny Qwen2 snapshot: GRPO trains only the adapters, against the adapters-off reference.</summary>
public sealed class LoraPolicyTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "vepa-lora-policy-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_folder))
        {
            Directory.Delete(_folder, recursive: true);
        }
    }

    [Fact]
    public async Task GRPO_with_a_KL_trains_only_the_adapters_against_the_base_model_and_learns_the_toy_task()
    {
        var qwen = QwenPolicy.FromPretrained(QwenPolicySnapshot.Path, options: new QwenPolicyOptions { MaxNewTokens = 1, Seed = 3 });
        using (no_grad())
        {
            // The snapshot's random norms and head (scale 0.15) give an almost uniform policy that barely moves; unit norms and a
            // larger head give a peaked one, as a pretrained model is.
            foreach (var (name, value) in qwen.GetState())
            {
                if (name.EndsWith("norm.weight", StringComparison.Ordinal))
                {
                    value.fill_(1);
                }
                else if (name == "lm_head.weight")
                {
                    value.mul_(4);
                }
            }
        }

        using var policy = new LoraPolicy(qwen, new LoraOptions { Rank = 4, Alpha = 8, Seed = 1 });
        PolicyPrompt[] prompts = [qwen.CreatePrompt("Where is the square?", "left"), qwen.CreatePrompt("Colour of the ball?", "red")];
        var baseState = policy.GetState().Where(p => !p.Key.Contains(".lora_", StringComparison.Ordinal))
            .ToDictionary(p => p.Key, p => p.Value.detach().clone().DetachFromDisposeScope());

        // The toy task: a one-token completion that starts with a letter. Measured on a fixed batch of 128 samples before and after.
        using var reward = new TextReward(text => text.Length > 0 && char.IsLetter(text[0]) ? 1 : 0);
        double before = await MeanReward(policy, prompts, reward);
        using var rollouts = await policy.Sampler.SampleAsync(prompts, 4, Sampling(qwen, seed: 21));
        var logProbOptions = new PolicyLogProbOptions { Temperature = 1.0 };
        Tensor baseLogProbs;
        using (no_grad())
        {
            baseLogProbs = policy.ComputeLogProbs(rollouts, logProbOptions).LogProbs.DetachFromDisposeScope();
        }

        var options = new GrpoTrainerOptions
        {
            GroupSize = 8,
            Sampling = qwen.CreateSamplingOptions(),
            LearningRate = 5e-2,
            WarmupRatio = 0,
            MaxSteps = 8,
            Seed = 7,
            Loss = new PolicyLossOptions { Beta = 0.01, KlEstimator = KlEstimator.K3 },
        };
        options.Sampling.Temperature = 1.0;
        using (var trainer = new GrpoTrainer(policy, reward, options))
        {
            trainer.Reference.Should().NotBeNull();
            trainer.Reference!.GetState().Should().BeEmpty("the reference is the policy's own base model, not a copy");
            trainer.Reference.TrainableParameters.Should().BeEmpty();
            for (int step = 0; step < options.MaxSteps; step++)
            {
                var record = await trainer.StepAsync(prompts);
                double.IsFinite(record.Loss).Should().BeTrue();
            }

            // The reference computes the base model's log-probs exactly, while the trained policy has moved away from them.
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            trainer.Reference.ComputeLogProbs(rollouts, logProbOptions).LogProbs.equal(baseLogProbs).all().item<bool>().Should().BeTrue();
            (policy.ComputeLogProbs(rollouts, logProbOptions).LogProbs - baseLogProbs).abs().max().item<float>().Should().BeGreaterThan(1e-3f, "the adapters trained");
        }

        foreach (var (name, value) in policy.GetState().Where(p => !p.Key.Contains(".lora_", StringComparison.Ordinal)))
        {
            value.equal(baseState[name]).all().item<bool>().Should().BeTrue($"the base weight {name} never changes");
        }

        double after = await MeanReward(policy, prompts, reward);
        after.Should().BeGreaterThan(before + 0.15, $"GRPO raises the share of letters (before {before:F3}, after {after:F3})");

        foreach (var tensor in baseState.Values.Append(baseLogProbs))
        {
            tensor.Dispose();
        }
    }

    [Fact]
    public async Task A_LoRA_run_with_a_KL_resumes_from_its_checkpoint_and_refuses_reference_syncing()
    {
        var options = new GrpoTrainerOptions
        {
            GroupSize = 2,
            LearningRate = 1e-2,
            WarmupRatio = 0,
            MaxSteps = 1,
            Seed = 5,
            CheckpointDirectory = Path.Combine(_folder, "checkpoints"),
            CheckpointEverySteps = 1,
        };
        using var reward = new TextReward(text => text.Length);
        IReadOnlyDictionary<string, Tensor> trained;
        using (var policy = CreatePolicy())
        {
            options.Sampling = ((QwenPolicy)policy.InnerPolicy).CreateSamplingOptions();
            PolicyPrompt[] prompts = [((QwenPolicy)policy.InnerPolicy).CreatePrompt("Colour?", "red")];
            using var trainer = new GrpoTrainer(policy, reward, options);
            await trainer.TrainAsync(new[] { (IReadOnlyList<PolicyPrompt>)prompts });
            trained = policy.Adapters.TrainableParameters.Select((p, i) => (p, i)).ToDictionary(x => x.i.ToString(System.Globalization.CultureInfo.InvariantCulture), x => x.p.detach().clone().DetachFromDisposeScope());
        }

        using (var resumed = CreatePolicy())
        using (var trainer = new GrpoTrainer(resumed, reward, options))
        {
            await trainer.ResumeAsync(options.CheckpointDirectory);
            trainer.CompletedSteps.Should().Be(1);
            for (int i = 0; i < resumed.Adapters.TrainableParameters.Count; i++)
            {
                resumed.Adapters.TrainableParameters[i].equal(trained[i.ToString(System.Globalization.CultureInfo.InvariantCulture)]).all().item<bool>().Should().BeTrue();
            }
        }

        using var syncing = CreatePolicy();
        options.ReferenceSyncSteps = 2;
        var act = () => new GrpoTrainer(syncing, reward, options);
        act.Should().Throw<ArgumentException>().WithMessage("ReferenceSyncSteps needs a reference with weights of its own*");

        // Overlapped generation samples from a copy of the weights, which the adapters-off view is not: refused when the trainer is built.
        options.ReferenceSyncSteps = null;
        options.OverlapGeneration = true;
        act = () => new GrpoTrainer(syncing, reward, options);
        act.Should().Throw<ArgumentException>().WithMessage("OverlapGeneration with the policy's own sampler samples from a copy of the weights*LoRA*");
    }

    [Fact]
    public void The_policy_trains_only_the_adapters_and_offers_them_as_a_service()
    {
        using var policy = CreatePolicy();
        policy.TrainableParameters.Should().HaveCount(2 * 7 * 2, "A and B for seven projections in each of the two layers");
        policy.InnerPolicy.TrainableParameters.Should().Equal(policy.Adapters.TrainableParameters, ReferenceEquals, "a TorchPolicy reads which parameters require gradient when asked");
        policy.GetService(typeof(LoraAdapters)).Should().BeSameAs(policy.Adapters);
        policy.GetService(typeof(QwenPolicy)).Should().BeSameAs(policy.InnerPolicy);
        policy.GetState().Keys.Should().Contain(["model.layers.0.self_attn.q_proj.weight", "model.layers.0.self_attn.q_proj.lora_A.weight", "model.layers.1.mlp.down_proj.lora_B.weight"]);

        // Merged, the state would hold W + ΔW beside A and B (a resume adds ΔW twice), and a loaded state would be unmerged wrongly.
        var state = policy.GetState().ToDictionary(p => p.Key, p => p.Value.clone());
        policy.Adapters.Merge();
        policy.Invoking(p => p.GetState()).Should().Throw<InvalidOperationException>().WithMessage("*merged*Unmerge before you take the policy's state*");
        policy.Invoking(p => p.LoadState(state)).Should().Throw<InvalidOperationException>().WithMessage("*merged*Unmerge before you load a state*");
        policy.Adapters.Unmerge();
        policy.LoadState(state);
        var act = () => new LoraPolicy(new ModuleLessPolicy());
        act.Should().Throw<ArgumentException>().WithMessage("ModuleLessPolicy offers no PolicyModule*");
    }

    [Fact]
    public async Task Qwen2VL_gets_adapters_on_its_language_model_only_and_switched_off_computes_the_base()
    {
        using var policy = new LoraPolicy(QwenPolicy.FromPretrained(QwenPolicySnapshot.VisionPath, options: new QwenPolicyOptions { MaxNewTokens = 3, Seed = 2 }), new LoraOptions { Rank = 2, Seed = 4 });
        var qwen = (QwenPolicy)policy.InnerPolicy;
        policy.Adapters.ModulePaths.Should().HaveCount(14).And.OnlyContain(p => p.StartsWith("model.layers.", StringComparison.Ordinal), "the vision tower has no q/k/v/o/gate/up/down_proj");
        var visionTarget = () => LoraAdapters.Apply((nn.Module)policy.GetService(typeof(PolicyModule))!, new LoraOptions { TargetModules = ["qkv"] });
        visionTarget.Should().Throw<ArgumentException>().WithMessage("*'visual.*qkv' (Linear)*", "TorchSharp's sealed Linear cannot take an adapter, and saying so beats ignoring the target");
        PolicyPrompt[] prompts = [qwen.CreatePrompt("Where is the square?", "left", QwenPolicySnapshot.Image(56, 56, seed: 2))];
        using var rollouts = await policy.Sampler.SampleAsync(prompts, 2, Sampling(qwen, seed: 5));
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var options = new PolicyLogProbOptions { Temperature = 1.0 };
        var start = policy.ComputeLogProbs(rollouts, options).LogProbs;
        using var generator = new Generator(9);
        foreach (var b in policy.TrainableParameters.Where((_, i) => i % 2 == 1))
        {
            b.copy_(randn(b.shape, b.dtype, generator: generator));
        }

        var adapted = policy.ComputeLogProbs(rollouts, options).LogProbs;
        (adapted - start).abs().max().item<float>().Should().BeGreaterThan(1e-3f);
        using (var reference = policy.CreateReference())
        {
            reference.ComputeLogProbs(rollouts, options).LogProbs.equal(start).all().item<bool>().Should().BeTrue("adapters off is the base model, bit for bit");
        }

        policy.Adapters.Merge();
        (policy.ComputeLogProbs(rollouts, options).LogProbs - adapted).abs().max().item<float>().Should().BeLessThan(1e-4f, "float32 merge");
        policy.Adapters.Unmerge();
        policy.Adapters.GetPeftState().Keys.Should().Contain("base_model.model.model.layers.1.mlp.up_proj.lora_B.weight");
        foreach (var tensor in prompts.SelectMany(p => p.ModelInputs?.Values ?? []))
        {
            tensor.Dispose();
        }
    }

    private static LoraPolicy CreatePolicy() =>
        new(QwenPolicy.FromPretrained(QwenPolicySnapshot.Path, options: new QwenPolicyOptions { MaxNewTokens = 3, Seed = 3 }), new LoraOptions { Rank = 2, Seed = 1 });

    private static SamplingOptions Sampling(QwenPolicy qwen, long seed)
    {
        var sampling = qwen.CreateSamplingOptions();
        sampling.Temperature = 1.0;
        sampling.Seed = seed;
        return sampling;
    }

    private static async Task<double> MeanReward(LoraPolicy policy, PolicyPrompt[] prompts, IRewardModel reward)
    {
        using var batch = await policy.Sampler.SampleAsync(prompts, 64, Sampling((QwenPolicy)policy.InnerPolicy, seed: 99));
        var results = await reward.ScoreAsync(batch.ToRewardRequests());
        return results.Average(r => r.Value);
    }

    private sealed class ModuleLessPolicy : IPolicy
    {
        public IRolloutSampler Sampler => throw new NotSupportedException();

        public IReadOnlyList<TorchSharp.Modules.Parameter> TrainableParameters => [];

        public PolicyLogProbs ComputeLogProbs(RolloutBatch rollouts, PolicyLogProbOptions options) => throw new NotSupportedException();

        public IPolicy CreateReference() => throw new NotSupportedException();

        public IReadOnlyDictionary<string, Tensor> GetState() => new Dictionary<string, Tensor>();

        public void LoadState(IReadOnlyDictionary<string, Tensor> state)
        {
        }

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }
}

/// <summary>The shared policy contract (Vepa.Testing) for <see cref="LoraPolicy"/> over the tiny Qwen2 snapshot.</summary>
public sealed class LoraPolicyContractTests : PolicyContractTests
{
    protected override SamplingOptions Sampling => new() { Temperature = 1.0, MaxNewTokens = 4, StopTokenIds = [QwenPolicySnapshot.ImEnd, QwenPolicySnapshot.EndOfText] };

    protected override double Tolerance => 1e-4;

    protected override IPolicy CreatePolicy() => new LoraPolicy(QwenPolicy.FromPretrained(QwenPolicySnapshot.Path), new LoraOptions { Rank = 2, Seed = 1 });

    protected override IReadOnlyList<PolicyPrompt> CreatePrompts()
    {
        using var policy = QwenPolicy.FromPretrained(QwenPolicySnapshot.Path);
        return [policy.CreatePrompt("Colour?", "red"), policy.CreatePrompt("How many cubes are there on the left?", "2"), policy.CreatePrompt("Shape of it?", "cube")];
    }
}
