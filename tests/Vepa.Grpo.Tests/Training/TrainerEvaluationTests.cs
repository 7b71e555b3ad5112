using System.Text.Json;

namespace Vepa.Grpo.Tests.Training;

/// <summary>EvaluateAsync (pass@k against brute force, no effect on training), periodic evaluation and logged completions.</summary>
[Collection("Sequential")]
public sealed class TrainerEvaluationTests
{
    [Fact]
    public void Pass_at_k_equals_the_fraction_of_k_subsets_that_hold_a_pass()
    {
        for (int n = 1; n <= 10; n++)
        {
            for (int c = 0; c <= n; c++)
            {
                for (int k = 1; k <= n; k++)
                {
                    PassAtK.Estimate(n, c, k).Should().BeApproximately(BruteForce(n, c, k), 1e-12, $"n = {n}, c = {c}, k = {k}");
                }
            }
        }

        PassAtK.Ks(6).Should().Equal(1, 2, 4, 6);
        PassAtK.Ks(8).Should().Equal(1, 2, 4, 8);
        PassAtK.Ks(1).Should().Equal(1);
        PassAtK.Estimate(2000, 3, 1000).Should().BeApproximately(1 - (1000.0 * 999 * 998 / (2000.0 * 1999 * 1998)), 1e-12, "no binomial coefficient overflows");
    }

    [Fact]
    public async Task EvaluateAsync_reports_the_mean_reward_and_pass_at_k_of_the_samples()
    {
        using var policy = TrainerRewardCompositionTests.NewPolicy();
        using var accuracy = new ExactAnswerRewardModel(ToyTask.FirstWordReward);
        using var length = new ExactAnswerRewardModel(r => r.Evidence.Length / 10.0);
        var options = TrainerRewardCompositionTests.Options();
        options.PassThreshold = 0.5;
        options.OverlongBufferLength = 2;
        using var trainer = new GrpoTrainer(policy, [new RewardComponent("accuracy", accuracy), new RewardComponent("length", length, 0.1)], options);
        var prompts = new[] { ToyTask.Prompt(0), ToyTask.Prompt(1), ToyTask.Prompt(2), ToyTask.Prompt(3) };

        var result = await trainer.EvaluateAsync(prompts, 6);

        result.Rewards.Should().HaveCount(24);
        result.Rewards.Should().OnlyContain(r => !double.IsNaN(r));
        result.RewardMean.Should().BeApproximately(result.Rewards.Average(), 1e-15);
        result.PassAtK.Keys.Should().Equal(1, 2, 4, 6);
        foreach (int k in result.PassAtK.Keys)
        {
            double expected = Enumerable.Range(0, 4).Average(p => BruteForce(6, result.Rewards.Skip(p * 6).Take(6).Count(r => r >= 0.5), k));
            result.PassAtK[k].Should().BeApproximately(expected, 1e-12, $"k = {k}");
        }

        result.PassAt1.Should().Be(result.PassAtK[1]);
        result.PassAt1.Should().BeApproximately(result.Rewards.Count(r => r >= 0.5) / 24.0, 1e-12);
        result.ComponentRewardMeans.Keys.Should().BeEquivalentTo("accuracy", "length", "overlong");
        result.Rewards.Average().Should().BeApproximately(
            result.ComponentRewardMeans["accuracy"] + (0.1 * result.ComponentRewardMeans["length"]), 1e-12, "the evaluation reward leaves the overlong shaping out");
        trainer.CompletedSteps.Should().Be(0);
    }

    [Fact]
    public async Task Training_after_an_evaluation_is_bit_identical_to_training_without_one()
    {
        var plain = await Train(evaluate: false);
        var evaluated = await Train(evaluate: true);

        evaluated.State.Should().Equal(plain.State);
        evaluated.Rewards.Should().Equal(plain.Rewards);
        evaluated.Evaluations.Should().Be(3, "EvaluateEvery = 2 over 4 steps, plus one direct call");

        static async Task<(double[] State, double[] Rewards, int Evaluations)> Train(bool evaluate)
        {
            using var policy = TrainerRewardCompositionTests.NewPolicy();
            using var reward = new ExactAnswerRewardModel(ToyTask.FirstWordReward);
            var options = TrainerRewardCompositionTests.Options();
            options.Loss = new PolicyLossOptions { Beta = 0.1 };
            options.ShuffleMiniBatches = true;
            options.MiniBatchSize = 6;
            if (evaluate)
            {
                options.EvaluateEvery = 2;
                options.EvaluationPrompts = [ToyTask.Prompt(3), ToyTask.Prompt(1)];
                options.EvaluationSamplesPerPrompt = 3;
            }

            using var trainer = new GrpoTrainer(policy, reward, options);
            var rewards = new List<double>();
            int evaluations = 0;
            for (int step = 0; step < 4; step++)
            {
                var record = await trainer.StepAsync(TrainerRewardCompositionTests.Prompts());
                rewards.AddRange(record.RolloutRewards);
                evaluations += record.Evaluation is null ? 0 : 1;
                if (evaluate && step == 0)
                {
                    await trainer.EvaluateAsync([ToyTask.Prompt(2)], 5);
                    evaluations++;
                }
            }

            return (TrainerRewardCompositionTests.Snapshot(policy), [.. rewards], evaluations);
        }
    }

    [Fact]
    public async Task Logged_completions_reach_the_record_the_event_and_the_step_log()
    {
        using var folder = new TempFolder();
        using var policy = TrainerRewardCompositionTests.NewPolicy();
        using var reward = new ExactAnswerRewardModel(ToyTask.FirstWordReward);
        var options = TrainerRewardCompositionTests.Options();
        options.LogCompletions = 3;
        options.EvaluateEvery = 2;
        options.EvaluationPrompts = [ToyTask.Prompt(0)];
        options.EvaluationSamplesPerPrompt = 2;
        options.StepLogPath = Path.Combine(folder.Path, "steps.jsonl");
        using var trainer = new GrpoTrainer(policy, reward, options);
        var events = new List<IReadOnlyList<GrpoCompletionSample>>();
        trainer.CompletionsLogged += (_, samples) => events.Add(samples);

        var records = await trainer.TrainAsync(Enumerable.Range(0, 2).Select(_ => (IReadOnlyList<PolicyPrompt>)TrainerRewardCompositionTests.Prompts()));

        var record = records[0];
        record.Completions.Should().HaveCount(3);
        record.Completions.Select(c => c.Row).Should().OnlyHaveUniqueItems().And.BeInAscendingOrder();
        foreach (var sample in record.Completions)
        {
            sample.Step.Should().Be(1);
            sample.Reward.Should().Be(record.RolloutRewards[sample.Row]);
            sample.Advantage.Should().Be(record.RolloutAdvantages[sample.Row]);
            sample.Prompt.Should().Be($"q{sample.Row / 4}");
            sample.ComponentRewards.Should().BeEquivalentTo(new Dictionary<string, double> { ["reward"] = ToyTask.FirstWordReward(new RewardRequest(sample.Prompt, ToyTask.AnswerFor(sample.Row / 4), sample.Completion)) });
        }

        events.Should().HaveCount(2);
        events[0].Should().Equal(record.Completions);
        records[0].Evaluation.Should().BeNull();
        records[1].Evaluation.Should().NotBeNull();
        records[1].Evaluation!.Step.Should().Be(2);

        string[] lines = File.ReadAllLines(options.StepLogPath);
        using var first = JsonDocument.Parse(lines[0]);
        using var second = JsonDocument.Parse(lines[1]);
        first.RootElement.GetProperty("completions").GetArrayLength().Should().Be(3);
        first.RootElement.GetProperty("completions")[0].GetProperty("completion").GetString().Should().Be(record.Completions[0].Completion);
        first.RootElement.GetProperty("reward_component/reward").GetDouble().Should().Be(record.ComponentRewardMeans["reward"]);
        first.RootElement.TryGetProperty("eval/pass@1", out _).Should().BeFalse();
        second.RootElement.GetProperty("eval/pass@2").ValueKind.Should().BeOneOf(JsonValueKind.Number, JsonValueKind.Null);
        second.RootElement.GetProperty("eval/reward_mean").GetDouble().Should().Be(records[1].Evaluation!.RewardMean);
    }

    [Fact]
    public async Task A_step_whose_evaluation_fails_is_published_before_the_error_stops_the_run()
    {
        using var folder = new TempFolder();
        using var policy = TrainerRewardCompositionTests.NewPolicy();
        using var reward = new BreaksOnCall(2);   // the training step's scoring is call 1, its evaluation's call 2
        var options = TrainerRewardCompositionTests.Options();
        options.EvaluateEvery = 1;
        options.EvaluationPrompts = [ToyTask.Prompt(0)];
        options.StepLogPath = Path.Combine(folder.Path, "steps.jsonl");
        options.LogCompletions = 2;
        using var trainer = new GrpoTrainer(policy, reward, options);
        var published = new List<GrpoStepRecord>();
        trainer.StepCompleted += (_, record) => published.Add(record);
        int logged = 0;
        trainer.CompletionsLogged += (_, samples) => logged += samples.Count;

        var step = () => trainer.StepAsync(TrainerRewardCompositionTests.Prompts());

        await step.Should().ThrowAsync<RewardContractException>();
        trainer.CompletedSteps.Should().Be(1, "the update was applied");
        published.Should().ContainSingle().Which.Evaluation.Should().BeNull();
        logged.Should().Be(2);
        published[0].Completions.Should().HaveCount(2, "the published step keeps the completions its event reported");
        string line = File.ReadAllLines(options.StepLogPath).Should().ContainSingle("the applied step reaches the step log").Which;
        using var json = JsonDocument.Parse(line);
        json.RootElement.GetProperty("completions").GetArrayLength().Should().Be(2);
    }

    [Fact]
    public void Evaluation_options_are_validated()
    {
        var options = TrainerRewardCompositionTests.Options();
        options.EvaluateEvery = 3;
        options.PassThreshold = double.NaN;
        options.EvaluationSamplesPerPrompt = 0;

        FluentActions.Invoking(options.Validate).Should().Throw<ArgumentException>()
            .WithMessage("*EvaluateEvery (3) needs EvaluationPrompts (at least one prompt).*")
            .WithMessage("*PassThreshold must be finite; got NaN.*")
            .WithMessage("*EvaluationSamplesPerPrompt must be in [1, 4096]; got 0.*");

        // A null prompt would fail inside the sampler after the step's update was applied: refused up front.
        options = TrainerRewardCompositionTests.Options();
        options.EvaluateEvery = 1;
        options.EvaluationPrompts = [ToyTask.Prompt(0), null!];
        FluentActions.Invoking(options.Validate).Should().Throw<ArgumentException>().WithMessage("*EvaluationPrompts[1] is null.*");
    }

    /// <summary>The fraction of the C(n, k) subsets of k samples (c passing, n − c failing) that hold at least one pass, by enumeration.</summary>
    private static double BruteForce(int n, int c, int k)
    {
        int hits = 0, total = 0;
        for (int mask = 0; mask < 1 << n; mask++)
        {
            if (System.Numerics.BitOperations.PopCount((uint)mask) != k)
            {
                continue;
            }

            total++;
            hits += (mask & ((1 << c) - 1)) != 0 ? 1 : 0; // samples 0 … c − 1 pass
        }

        return (double)hits / total;
    }

    /// <summary>Scores the first word; on the given 1-based call returns one result too few (a broken contract).</summary>
    private sealed class BreaksOnCall(int call) : IRewardModel
    {
        private int _calls;

        public Task<IReadOnlyList<RewardResult>> ScoreAsync(IReadOnlyList<RewardRequest> requests, CancellationToken cancellationToken = default)
        {
            var results = requests.Select(r => RewardResult.Scored(ToyTask.FirstWordReward(r))).ToArray();
            return Task.FromResult<IReadOnlyList<RewardResult>>(++_calls == call ? results[1..] : results);
        }

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }
}
