using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using TorchSharp;
using static TorchSharp.torch;

namespace Vepa.Grpo.Tests.Training;

/// <summary>
/// The presets against hand-written tables of the Python trainers' defaults (read from TRL's <c>trl/trainer/grpo_config.py</c>
/// and <c>grpo_trainer.py</c>, transformers' <c>TrainingArguments</c>, and verl's <c>_generated_ppo_trainer.yaml</c>,
/// <c>core_algos.py</c> and GRPO guide), and a short run with each.
/// </summary>
[Collection("Sequential")]
public sealed class GrpoTrainerPresetsTests
{
    // Option path → the value TRL's GRPOConfig() gives it, with the TRL field it comes from.
    private static readonly (string Path, object? Value, string Source)[] TrlDefaults =
    [
        ("GroupSize", 8, "num_generations=8"),
        ("Sampling.Temperature", 1.0, "temperature=1.0"),
        ("Sampling.TopP", 1.0, "top_p=1.0"),
        ("Sampling.TopK", null, "top_k=0 (off)"),
        ("Sampling.MaxNewTokens", 512, "max_completion_length=512"),
        ("Advantages.Normalization", AdvantageNormalization.GroupStd, "scale_rewards=\"group\""),
        ("Advantages.Epsilon", 1e-4, "std + 1e-4 in grpo_trainer.py"),
        ("Advantages.Combination", RewardCombination.SumThenNormalize, "multi_objective_aggregation=\"sum_then_normalize\""),
        ("Loss.Objective", PolicyObjective.Clip, "loss_type=\"dapo\" (clipped surrogate)"),
        ("Loss.RatioLevel", RatioLevel.Token, "importance_sampling_level=\"token\""),
        ("Loss.EpsilonLow", 0.2, "epsilon=0.2"),
        ("Loss.EpsilonHigh", 0.2, "epsilon_high=None → epsilon"),
        ("Loss.Delta", null, "delta=None"),
        ("Loss.DualClip", null, "no dual clip"),
        ("Loss.LogRatioClamp", null, "no log-ratio clamp"),
        ("Loss.Beta", 0.0, "beta=0.0"),
        ("Loss.Aggregation", LossAggregation.TokenMean, "loss_type=\"dapo\": tokens of the accumulated batch"),
        ("Loss.SamplerCorrection", SamplerCorrectionMode.Mask, "vllm_importance_sampling_correction=True, mode \"sequence_mask\""),
        ("Loss.SamplerCorrectionPerSequence", true, "vllm_importance_sampling_mode=\"sequence_mask\""),
        ("Loss.SamplerCorrectionMin", 0.0, "vllm_importance_sampling_clip_min=None"),
        ("Loss.SamplerCorrectionMax", 3.0, "vllm_importance_sampling_clip_max=3.0"),
        ("LearningRate", 1e-6, "learning_rate=1e-6"),
        ("Schedule", LearningRateSchedule.Linear, "lr_scheduler_type=\"linear\""),
        ("WarmupRatio", 0.0, "warmup_ratio=0 / warmup_steps=0"),
        ("WarmupSteps", null, "warmup_steps=0 (the ratio, 0, applies)"),
        ("MinLearningRateRatio", 0.0, "linear decays to 0"),
        ("AdamBeta1", 0.9, "adam_beta1=0.9"),
        ("AdamBeta2", 0.999, "adam_beta2=0.999"),
        ("AdamEpsilon", 1e-8, "adam_epsilon=1e-8"),
        ("WeightDecay", 0.0, "weight_decay=0.0"),
        ("MaxGradNorm", 1.0, "max_grad_norm=1.0"),
        ("Iterations", 1, "num_iterations=1"),
        ("MiniBatchSize", null, "steps_per_generation = gradient_accumulation_steps: one update per generation batch"),
        ("ShuffleMiniBatches", true, "the generation batch is shuffled before it is split"),
        ("MaskTruncatedCompletions", false, "mask_truncated_completions=False"),
        ("ZeroSignalGroups", ZeroSignalGroupHandling.Keep, "no dynamic sampling"),
        ("ReferenceSyncSteps", null, "sync_ref_model=False"),
        ("ReferenceSyncMixAlpha", 0.6, "ref_model_mixup_alpha=0.6"),
        ("Seed", 42L, "seed=42"),
        ("ComputeEntropy", true, "entropy is always logged"),
        ("KeepCheckpoints", null, "save_total_limit=None"),
    ];

    // Option path → verl's value: ppo_trainer.yaml defaults, with GRPO's adv_estimator=grpo, use_kl_loss=True and n=5 (its examples).
    private static readonly (string Path, object? Value, string Source)[] VerlDefaults =
    [
        ("GroupSize", 5, "rollout.n=5 (GRPO examples; the default 1 is not a group)"),
        ("Sampling.Temperature", 1.0, "rollout.temperature=1.0"),
        ("Sampling.TopP", 1.0, "rollout.top_p=1"),
        ("Sampling.TopK", null, "rollout.top_k=-1 (off)"),
        ("Sampling.MaxNewTokens", 512, "data.max_response_length=512"),
        ("Advantages.Normalization", AdvantageNormalization.GroupStd, "adv_estimator=grpo, norm_adv_by_std_in_grpo=True"),
        ("Advantages.Epsilon", 1e-6, "compute_grpo_outcome_advantage(epsilon=1e-6)"),
        ("Loss.Objective", PolicyObjective.Clip, "policy_loss.loss_mode=\"vanilla\""),
        ("Loss.RatioLevel", RatioLevel.Token, "vanilla: per-token ratio"),
        ("Loss.EpsilonLow", 0.2, "clip_ratio_low=0.2"),
        ("Loss.EpsilonHigh", 0.2, "clip_ratio_high=0.2"),
        ("Loss.DualClip", 3.0, "clip_ratio_c=3.0"),
        ("Loss.LogRatioClamp", 20.0, "vanilla: log-ratio clamped to ±20"),
        ("Loss.Beta", 0.001, "use_kl_loss=True, kl_loss_coef=0.001"),
        ("Loss.KlEstimator", KlEstimator.K3, "kl_loss_type=\"low_var_kl\""),
        ("Loss.KlLogRatioClamp", 20.0, "low_var_kl: log-ratio clamped to ±20"),
        ("Loss.KlValueClamp", 10.0, "low_var_kl: KL clamped to ±10"),
        ("Loss.Aggregation", LossAggregation.TokenMean, "loss_agg_mode=\"token-mean\""),
        ("Loss.SamplerCorrection", SamplerCorrectionMode.None, "rollout_correction.rollout_is=None"),
        ("LearningRate", 1e-6, "actor.optim.lr=1e-6"),
        ("Schedule", LearningRateSchedule.Constant, "actor.optim.lr_scheduler_type=\"constant\""),
        ("WarmupRatio", 0.0, "lr_warmup_steps_ratio=0.0"),
        ("WarmupSteps", null, "lr_warmup_steps=-1 (use the ratio)"),
        ("MinLearningRateRatio", 0.0, "min_lr_ratio=0.0"),
        ("AdamBeta1", 0.9, "betas=[0.9, 0.999]"),
        ("AdamBeta2", 0.999, "betas=[0.9, 0.999]"),
        ("AdamEpsilon", 1e-8, "torch AdamW eps"),
        ("WeightDecay", 0.01, "actor.optim.weight_decay=0.01"),
        ("MaxGradNorm", 1.0, "actor.grad_clip=1.0"),
        ("Iterations", 1, "ppo_epochs=1"),
        ("ShuffleMiniBatches", false, "actor.shuffle=False"),
        ("ZeroSignalGroups", ZeroSignalGroupHandling.Keep, "no filter_groups"),
        ("ReferenceSyncSteps", null, "frozen reference"),
        ("Seed", 42L, "actor.data_loader_seed=42"),
        ("ComputeEntropy", false, "actor.calculate_entropy=False"),
        ("KeepCheckpoints", null, "trainer.max_actor_ckpt_to_keep=None"),
    ];

    [Fact]
    public void The_TRL_preset_holds_TRLs_defaults()
    {
        GrpoTrainerOptions options = GrpoTrainerPresets.Trl();

        Mismatches(options, TrlDefaults).Should().BeEmpty();
        options.Invoking(o => o.Validate()).Should().NotThrow();
    }

    [Fact]
    public void The_verl_preset_holds_verls_GRPO_defaults()
    {
        GrpoTrainerOptions options = GrpoTrainerPresets.VerlGrpo();

        Mismatches(options, VerlDefaults).Should().BeEmpty();
        options.Invoking(o => o.Validate()).Should().NotThrow();
    }

    [Fact]
    public void Each_call_returns_a_new_instance()
    {
        GrpoTrainerOptions first = GrpoTrainerPresets.Trl();
        first.Loss.Beta = 0.5;
        first.Sampling.TopP = 0.5;

        GrpoTrainerPresets.Trl().Loss.Beta.Should().Be(0);
        GrpoTrainerPresets.Trl().Sampling.TopP.Should().Be(1);
    }

    [Theory]
    [InlineData("Trl")]
    [InlineData("VerlGrpo")]
    public async Task A_short_run_with_a_preset_follows_its_schedule_and_its_reference_setting(string preset)
    {
        GrpoTrainerOptions options = preset == "Trl" ? GrpoTrainerPresets.Trl() : GrpoTrainerPresets.VerlGrpo();
        options.Sampling.MaxNewTokens = 3;           // the toy task's answers are one word
        options.Sampling.StopTokenIds = [0];
        options.LearningRate = 0.05;                 // a step the parameters show
        options.MaxSteps = 4;

        using var policy = new TorchPolicy(new TinyCausalModule(ToyTask.Vocabulary.Length, 8, seed: 23), ToyTask.Tokenizer);
        double[] before = ReadParameters(policy);
        using var trainer = new GrpoTrainer(policy, new ExactAnswerRewardModel(r => r.Evidence.Length), options);

        var records = new List<GrpoStepRecord>();
        for (int step = 0; step < 2; step++)
        {
            records.Add(await trainer.StepAsync([ToyTask.Prompt(step), ToyTask.Prompt(step + 1)]));
        }

        // Hand-computed schedule: TRL's linear decay without warm-up is peak·(1 − s/H) at 1-based step s; verl's is constant.
        double[] expected = preset == "Trl" ? [0.05 * (1 - (1 / 4.0)), 0.05 * (1 - (2 / 4.0))] : [0.05, 0.05];
        records.Select(r => r.LearningRate).Should().Equal(expected, (a, b) => Math.Abs(a - b) < 1e-15);
        records.Should().OnlyContain(r => r.OptimizerSteps == 1 && r.RolloutCount == 2 * options.GroupSize && double.IsFinite(r.Loss));
        (trainer.Reference is null).Should().Be(preset == "Trl", "TRL's β = 0 keeps no reference model; verl's β = 0.001 does");
        ReadParameters(policy).Zip(before, (a, b) => Math.Abs(a - b)).Max().Should().BeGreaterThan(0);
    }

    [Fact]
    public void The_migration_guides_appsettings_example_binds_strictly_to_the_TRL_presets_values()
    {
        // The first JSON block of docs/migrating.md, bound as the DI registration binds (unknown keys are errors); every key
        // it sets must give the value the preset has.
        string guide = OptionsDocsTests.ReadDoc("migrating.md");
        int start = guide.IndexOf("```json\n", StringComparison.Ordinal) + "```json\n".Length;
        string json = guide[start..guide.IndexOf("```", start, StringComparison.Ordinal)];
        var flat = new Dictionary<string, string?>();
        Flatten(JsonDocument.Parse(json).RootElement, prefix: null, flat);
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(flat).Build();

        var bound = new GrpoTrainerOptions();
        configuration.GetSection("Grpo").Bind(bound, o => o.ErrorOnUnknownConfiguration = true);

        var table = flat.Keys.Select(k => (Path: k["Grpo:".Length..].Replace(':', '.'), Value: OptionsDocsTests.Read(GrpoTrainerPresets.Trl(), k["Grpo:".Length..].Replace(':', '.')), Source: "GrpoTrainerPresets.Trl()")).ToArray();
        table.Should().HaveCountGreaterThan(15);
        Mismatches(bound, table).Should().BeEmpty();
    }

    private static void Flatten(JsonElement element, string? prefix, Dictionary<string, string?> into)
    {
        if (element.ValueKind == JsonValueKind.Object)
        {
            foreach (JsonProperty property in element.EnumerateObject())
            {
                Flatten(property.Value, prefix is null ? property.Name : prefix + ":" + property.Name, into);
            }
        }
        else
        {
            into[prefix!] = element.ValueKind == JsonValueKind.String ? element.GetString() : element.GetRawText();
        }
    }

    private static List<string> Mismatches(GrpoTrainerOptions options, (string Path, object? Value, string Source)[] table)
    {
        var mismatches = new List<string>();
        foreach (var (path, expected, source) in table)
        {
            object? actual = OptionsDocsTests.Read(options, path);

            if (!Equals(actual, expected))
            {
                mismatches.Add(string.Create(CultureInfo.InvariantCulture, $"{path}: {actual ?? "null"}, expected {expected ?? "null"} ({source})"));
            }
        }

        return mismatches;
    }

    private static double[] ReadParameters(IPolicy policy)
        => policy.GetState().Values.SelectMany(t => t.to(ScalarType.Float64).cpu().data<double>().ToArray()).ToArray();
}
