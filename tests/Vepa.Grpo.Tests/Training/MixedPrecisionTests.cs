using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Vepa.Grpo.Tests.Training;

[Collection("Sequential")]
public sealed class MixedPrecisionTests
{
    // bfloat16 keeps 8 significant bits: unit roundoff u = 2^-8 ≈ 3.9e-3.
    private const double BFloat16Roundoff = 1.0 / 256;

    private static readonly PolicyPrompt[] Prompts = [ToyTask.Prompt(0), ToyTask.Prompt(1), ToyTask.Prompt(2), ToyTask.Prompt(3)];

    [Fact]
    public async Task A_bfloat16_step_matches_the_float64_step_on_the_same_weights_within_a_few_bfloat16_roundoffs()
    {
        using var threads = new SingleThreadedTorch();
        using var bf16 = new TorchPolicy(NewModule(13, ScalarType.BFloat16), ToyTask.Tokenizer);
        using var exact = new TorchPolicy(NewModule(13, ScalarType.Float64), ToyTask.Tokenizer);
        exact.LoadState(bf16.GetState().ToDictionary(e => e.Key, e => e.Value.to(ScalarType.Float64)));   // the same values, exactly
        using var rollouts = await exact.Sampler.SampleAsync(Prompts, 4, new SamplingOptions { Temperature = 1.0, MaxNewTokens = 5, StopTokenIds = [0], Seed = 9 });
        var initial = exact.TrainableParameters.Select(p => p.detach().clone()).ToArray();

        using var reward = new ExactAnswerRewardModel(r => r.Evidence.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length);
        using var exactTrainer = new GrpoTrainer(exact, reward, StepOptions(TrainingPrecision.Float32), new ReplaySampler(rollouts));
        using var bf16Trainer = new GrpoTrainer(bf16, reward, StepOptions(TrainingPrecision.BFloat16), new ReplaySampler(rollouts));
        var exactRecord = await exactTrainer.StepAsync(Prompts);
        var bf16Record = await bf16Trainer.StepAsync(Prompts);

        // SGD: Δθ = −lr × gradient, so the masters' movement is the bfloat16 gradient, the float64 parameters' the exact one.
        var masters = bf16Trainer.MasterWeights!;
        masters.Should().OnlyContain(m => m.dtype == ScalarType.Float32);
        var exactStep = cat(exact.TrainableParameters.Select((p, i) => (p - initial[i]).flatten()).ToArray());
        var bf16Step = cat(masters.Select((m, i) => (m.to(ScalarType.Float64) - initial[i]).flatten()).ToArray());
        double relative = (bf16Step - exactStep).norm().item<double>() / exactStep.norm().item<double>();
        double smallest = exactStep.abs().masked_select(exactStep.ne(0)).min().item<double>() / 0.1;
        Console.WriteLine($"bf16 vs float64 step: gradient relative error {relative:E2} ({relative / BFloat16Roundoff:F2} u), loss {bf16Record.Loss:G6} vs {exactRecord.Loss:G6}, smallest |gradient| {smallest:E2}");

        // Forward and backward through the tiny model round each value at a handful of bfloat16 operations in a row, errors
        // that partly cancel (measured: 0.8 u); allow 4 u. A float32 step would be ~1e-7, a broken one O(1).
        relative.Should().BeLessThan(4 * BFloat16Roundoff);
        relative.Should().BeGreaterThan(0, "the bfloat16 step must really run in bfloat16");
        Math.Abs(bf16Record.Loss - exactRecord.Loss).Should().BeLessThan(10 * BFloat16Roundoff * Math.Max(1e-2, Math.Abs(exactRecord.Loss)));

        // No loss scaling: the smallest gradient is tens of orders of magnitude above bfloat16's smallest normal (1.2e-38),
        // the exponent range bfloat16 shares with float32.
        smallest.Should().BeGreaterThan(1e-20);

        // The policy holds its masters rounded to bfloat16.
        var parameters = bf16.TrainableParameters;
        for (int i = 0; i < parameters.Count; i++)
        {
            parameters[i].dtype.Should().Be(ScalarType.BFloat16);
            parameters[i].to(ScalarType.Float32).data<float>().ToArray().Should().Equal(masters[i].data<float>().ToArray().Select(RoundToBFloat16));
        }
    }

    [Fact]
    public void Float32_masters_accumulate_updates_smaller_than_half_a_bfloat16_ulp_which_plain_bfloat16_steps_lose()
    {
        float[] values = [1f, 0.75f, -2f, 3f];
        const float Rate = 1f / 1024;   // below half an ulp of every value: 2^-8 at 1, 2^-9 at 0.75, 2^-7 at 2 and 3
        using var parameter = new Parameter(tensor(values).to(ScalarType.BFloat16));
        using var optimizer = GrpoOptimizer.Create([parameter], new GrpoTrainerOptions
        {
            Precision = TrainingPrecision.BFloat16,
            OptimizerFactory = p => optim.SGD(p, Rate),
        });
        using var plain = new Parameter(tensor(values).to(ScalarType.BFloat16));
        using var plainSgd = optim.SGD([plain], Rate);

        float[] master = (float[])values.Clone();
        for (int step = 1; step <= 6; step++)
        {
            parameter.grad = full(4, -1.0, ScalarType.BFloat16);   // gradient −1: SGD adds the rate
            optimizer.GatherGradients();
            optimizer.Step();
            plain.grad = full(4, -1.0, ScalarType.BFloat16);
            plainSgd.step();
            for (int i = 0; i < master.Length; i++)
            {
                master[i] += Rate;   // exact in float32
            }

            optimizer.Masters!.Masters[0].data<float>().ToArray().Should().Equal(master);
            parameter.to(ScalarType.Float32).data<float>().ToArray().Should().Equal(master.Select(RoundToBFloat16), $"after step {step} the policy holds the masters rounded to nearest even");
        }

        // 6 / 1024 ≈ 0.0059 crossed half an ulp at 1 (0.0039), at 0.75 (0.0020) and just above −2 (0.0039: the binade
        // below 2 in magnitude has ulp 2^-7), not at 3 (0.0078).
        parameter.to(ScalarType.Float32).data<float>().ToArray().Should().Equal(1f + (1f / 128), 0.75f + (2f / 256), -2f + (1f / 128), 3f);
        plain.to(ScalarType.Float32).data<float>().ToArray().Should().Equal(values, "each plain bfloat16 update rounds back to where it started");
    }

    [Fact]
    public void The_default_AdamW_keeps_float32_state_over_the_masters()
    {
        using var parameter = new Parameter(tensor(new float[] { 0.5f, -0.25f }).to(ScalarType.BFloat16));
        using var optimizer = GrpoOptimizer.Create([parameter], new GrpoTrainerOptions { Precision = TrainingPrecision.BFloat16, LearningRate = 1e-3 });
        parameter.grad = tensor(new float[] { 1f, -1f }).to(ScalarType.BFloat16);
        optimizer.GatherGradients();
        optimizer.Step();
        var state = optimizer.Adam!.state_dict().State.Cast<AdamW.State>().Single();
        state.exp_avg.dtype.Should().Be(ScalarType.Float32);
        state.exp_avg_sq.dtype.Should().Be(ScalarType.Float32);
        parameter.grad.Should().BeNull("the gradient moved to the master");
    }

    [Fact]
    public void BFloat16_precision_refuses_a_float32_policy_naming_the_parameter()
    {
        using var policy = new TorchPolicy(NewModule(3, ScalarType.Float32), ToyTask.Tokenizer);
        using var reward = new ExactAnswerRewardModel();
        var act = () => new GrpoTrainer(policy, reward, new GrpoTrainerOptions { Precision = TrainingPrecision.BFloat16 });
        act.Should().Throw<ArgumentException>().WithMessage("Precision is BFloat16, so every trainable parameter of the policy must be bfloat16; parameter 0 [64, 8] is Float32 (load the policy in bfloat16*");
    }

    [Fact]
    public async Task LmHeadFloat32_gives_the_log_probs_of_a_float32_head_over_the_bfloat16_hidden_states()
    {
        const double Temperature = 0.9;
        var module = NewModule(17, ScalarType.BFloat16);
        using var policy = new TorchPolicy(module, ToyTask.Tokenizer);
        using var plain = new TorchPolicy(NewModule(17, ScalarType.BFloat16), ToyTask.Tokenizer);
        using var reward = new ExactAnswerRewardModel();
        using var trainer = new GrpoTrainer(policy, reward, new GrpoTrainerOptions
        {
            Precision = TrainingPrecision.BFloat16,
            LmHeadFloat32 = true,
            Loss = new PolicyLossOptions { Beta = 0 },
        });
        using var rollouts = await policy.Sampler.SampleAsync(Prompts, 4, new SamplingOptions { Temperature = Temperature, MaxNewTokens = 5, StopTokenIds = [0], Seed = 4 });
        using var scope = NewDisposeScope();
        var logProbs = policy.ComputeLogProbs(rollouts, new PolicyLogProbOptions { Temperature = Temperature }).LogProbs;
        var bf16LogProbs = plain.ComputeLogProbs(rollouts, new PolicyLogProbOptions { Temperature = Temperature }).LogProbs;

        // The reference: the module's bfloat16 hidden states, then the head and the log-softmax in float64.
        var promptIds = tensor(Enumerable.Range(0, 16).SelectMany(r => Prompts[r / 4].PromptTokenIds.Select(t => (long)t)).ToArray(), [16, 2]);
        long length = rollouts.Length;
        var input = cat([promptIds, rollouts.CompletionIds.narrow(1, 0, length - 1)], 1);
        Tensor reference;
        using (no_grad())
        {
            var hidden = module.Forward(null, input, null).narrow(1, 1, length).to(ScalarType.Float64);
            var logits = hidden.matmul(module.LmHeadWeight.to(ScalarType.Float64).t()) / Temperature;
            reference = logits.log_softmax(-1).gather(-1, rollouts.CompletionIds.unsqueeze(-1)).squeeze(-1);
        }

        var mask = rollouts.CompletionMask;
        double headError = (logProbs.to(ScalarType.Float64) - reference).abs().masked_select(mask).max().item<double>();
        double bf16Error = (bf16LogProbs.to(ScalarType.Float64) - reference).abs().masked_select(mask).max().item<double>();
        Console.WriteLine($"LM head float32: largest log-prob error {headError:E2}; bfloat16 head: {bf16Error:E2}");
        logProbs.dtype.Should().Be(ScalarType.Float32);
        headError.Should().BeLessThan(2e-6, "a float32 head over float32 inputs: a few float32 roundoffs (6e-8) of logits of order 1");
        bf16Error.Should().BeGreaterThan(10 * headError, "a bfloat16 head rounds every logit to 8 bits");
    }

    [Fact]
    public void With_overlapped_generation_the_sampling_copy_gets_the_float32_head_too()
    {
        using var policy = new TorchPolicy(NewModule(17, ScalarType.BFloat16), ToyTask.Tokenizer);
        using var reward = new ExactAnswerRewardModel();
        using var trainer = new GrpoTrainer(policy, reward, new GrpoTrainerOptions
        {
            Precision = TrainingPrecision.BFloat16,
            LmHeadFloat32 = true,
            OverlapGeneration = true,
            Loss = new PolicyLossOptions { Beta = 0.04 },
        });

        // The copy the batch sampled ahead comes from computes the behaviour log-probs; with a bfloat16 head they would differ from
        // the trainer's float32-head log-probs by the head's rounding in every ratio. (A private field: no public API exposes the copy.)
        var copy = (IPolicy)typeof(GrpoTrainer).GetField("_snapshot", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!.GetValue(trainer)!;
        ((TorchPolicy)copy.GetService(typeof(TorchPolicy))!).HeadInFloat32.Should().BeTrue();
        ((TorchPolicy)trainer.Reference!.GetService(typeof(TorchPolicy))!).HeadInFloat32.Should().BeTrue();
    }

    [Fact]
    public async Task A_bfloat16_run_resumes_exactly_from_its_float32_masters()
    {
        using var threads = new SingleThreadedTorch();
        using var folder = new TempFolder();
        var options = new GrpoTrainerOptions
        {
            Precision = TrainingPrecision.BFloat16,
            Sampling = ToyTask.Sampling(4),
            LearningRate = 1e-3,   // updates below a bfloat16 ulp of most weights: only the masters see them
            WarmupSteps = 0,
            Loss = new PolicyLossOptions { Beta = 0.04 },
            Seed = 8,
        };
        using var reward = new ExactAnswerRewardModel(r => r.Evidence.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length);

        using var policy = new TorchPolicy(NewModule(19, ScalarType.BFloat16), ToyTask.Tokenizer);
        using var trainer = new GrpoTrainer(policy, reward, options);
        await trainer.StepAsync(Prompts);
        string checkpoint = await trainer.SaveCheckpointAsync(folder.Path);
        await trainer.StepAsync(Prompts);

        using var resumedPolicy = new TorchPolicy(NewModule(19, ScalarType.BFloat16), ToyTask.Tokenizer);
        using var resumed = new GrpoTrainer(resumedPolicy, reward, options);
        await resumed.ResumeAsync(checkpoint);
        await resumed.StepAsync(Prompts);

        File.Exists(Path.Combine(checkpoint, "masters.safetensors")).Should().BeTrue();
        for (int i = 0; i < trainer.MasterWeights!.Count; i++)
        {
            resumed.MasterWeights![i].data<float>().ToArray().Should().Equal(trainer.MasterWeights[i].data<float>().ToArray(), $"master {i}");
        }

        foreach (var (name, value) in policy.GetState())
        {
            resumedPolicy.GetState()[name].to(ScalarType.Float32).data<float>().ToArray().Should().Equal(value.to(ScalarType.Float32).data<float>().ToArray(), name);
        }
    }

    /// <summary>float32 → bfloat16 → float32 with round-to-nearest-even, on the bits (no finite value here is NaN).</summary>
    private static float RoundToBFloat16(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        uint rounded = (bits + 0x7FFFu + ((bits >> 16) & 1u)) & 0xFFFF0000u;
        return BitConverter.UInt32BitsToSingle(rounded);
    }

    private static GrpoTrainerOptions StepOptions(TrainingPrecision precision) => new()
    {
        Precision = precision,
        GroupSize = 4,
        Sampling = new SamplingOptions { Temperature = 1.0, MaxNewTokens = 5, StopTokenIds = [0] },
        Loss = new PolicyLossOptions { Beta = 0.04 },
        WarmupSteps = 0,
        LearningRate = 0.1,
        MaxGradNorm = null,
        OptimizerFactory = parameters => optim.SGD(parameters, 0.1),
        ComputeEntropy = false,
    };

    private static TinyCausalModule NewModule(long seed, ScalarType dtype)
    {
        var module = new TinyCausalModule(ToyTask.Vocabulary.Length, 8, seed, cache: false);
        module.to(dtype);
        return module;
    }

    /// <summary>Hands the trainer copies of one fixed batch, so two trainers train on the same rollouts.</summary>
    private sealed class ReplaySampler(RolloutBatch source) : IRolloutSampler
    {
        public Task<RolloutBatch> SampleAsync(IReadOnlyList<PolicyPrompt> prompts, int groupSize, SamplingOptions options, CancellationToken cancellationToken = default)
            => Task.FromResult(new RolloutBatch(
                source.Prompts, source.GroupSize, source.CompletionIds.clone(), source.CompletionMask.clone(), source.Truncated, source.Texts, source.SamplerLogProbs?.clone()));

        public object? GetService(Type serviceType, object? serviceKey = null) => null;
    }
}
