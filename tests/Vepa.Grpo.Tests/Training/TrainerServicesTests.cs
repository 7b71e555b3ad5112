using System.Diagnostics.Metrics;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Options;

namespace Vepa.Grpo.Tests.Training;

[Collection("Sequential")]
public sealed class TrainerServicesTests
{
    [Fact]
    public async Task AddGrpoTrainer_binds_configuration_and_composes_the_policy_and_a_keyed_reward_model()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Vepa:Grpo:GroupSize"] = "3",
            ["Vepa:Grpo:LearningRate"] = "0.001",
            ["Vepa:Grpo:Sampling:MaxNewTokens"] = "2",
            ["Vepa:Grpo:Sampling:StopTokenIds:0"] = "0",
            ["Vepa:Grpo:Loss:Beta"] = "0",
            ["Vepa:Grpo:Advantages:Normalization"] = "LeaveOneOut",
        }).Build();
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(configuration);
        services.AddKeyedSingleton<IRewardModel>("reader", new ExactAnswerRewardModel(ToyTask.FirstWordReward));
        services.AddGrpoTrainer(_ => new TorchPolicy(new TinyCausalModule(ToyTask.Vocabulary.Length, 8, seed: 1), ToyTask.Tokenizer), "Vepa:Grpo", rewardModelKey: "reader");
        await using var provider = services.BuildServiceProvider(validateScopes: true);

        var trainer = provider.GetRequiredService<GrpoTrainer>();
        var record = await trainer.StepAsync([ToyTask.Prompt(0)]);

        trainer.Options.GroupSize.Should().Be(3);
        trainer.Options.Sampling.MaxNewTokens.Should().Be(2);
        trainer.Options.Advantages.Normalization.Should().Be(AdvantageNormalization.LeaveOneOut);
        trainer.Reference.Should().BeNull();
        record.RolloutCount.Should().Be(3);
        trainer.Policy.Should().BeSameAs(provider.GetRequiredService<IPolicy>());
    }

    [Fact]
    public void Invalid_configuration_fails_at_start_up_with_every_problem()
    {
        var services = new ServiceCollection();
        services.AddSingleton<IRewardModel>(new ExactAnswerRewardModel());
        services.AddGrpoTrainer(_ => throw new InvalidOperationException("not reached"))
            .Configure(o =>
            {
                o.GroupSize = 1;
                o.LearningRate = 0;
            });
        using var provider = services.BuildServiceProvider();

        var start = () => provider.GetRequiredService<IStartupValidator>().Validate();

        start.Should().Throw<OptionsValidationException>()
            .Which.Failures.Should().Contain("GroupSize must be in [2, 4096]; got 1.").And.Contain("LearningRate must be finite and > 0; got 0.");
    }

    [Fact]
    public async Task Each_step_is_reported_to_the_logger_the_meter_the_event_the_progress_and_the_step_log()
    {
        using var folder = new TempFolder();
        string log = Path.Combine(folder.Path, "steps.jsonl");
        var logs = new FakeLogCollector();
        using var loggerFactory = LoggerFactory.Create(b => b.AddProvider(new FakeLoggerProvider(logs)));
        using var meterFactory = new TestMeterFactory();
        using var rewards = new MetricCollector<double>(meterFactory, GrpoMetricNames.MeterName, GrpoMetricNames.Reward);
        using var phases = new MetricCollector<double>(meterFactory, GrpoMetricNames.MeterName, GrpoMetricNames.PhaseDuration);
        using var policy = new TorchPolicy(new TinyCausalModule(ToyTask.Vocabulary.Length, 8, seed: 1), ToyTask.Tokenizer);
        using var trainer = new GrpoTrainer(policy, new ExactAnswerRewardModel(r => r.Evidence.Length), new GrpoTrainerOptions
        {
            Sampling = ToyTask.Sampling(),
            StepLogPath = log,
            MaxSteps = 3,
        }, loggerFactory: loggerFactory, meterFactory: meterFactory);
        var events = new List<GrpoStepRecord>();
        trainer.StepCompleted += (_, r) => events.Add(r);
        var progress = new List<GrpoStepRecord>();

        var records = await trainer.TrainAsync(Enumerable.Range(0, 5).Select(i => (IReadOnlyList<PolicyPrompt>)[ToyTask.Prompt(i % 4)]), new SynchronousProgress(progress));

        records.Should().HaveCount(3, "MaxSteps is 3");
        events.Should().Equal(records);
        progress.Should().Equal(records);
        rewards.GetMeasurementSnapshot().Select(m => m.Value).Should().Equal(records.Select(r => r.RewardMean));
        phases.GetMeasurementSnapshot().Select(m => m.Tags[GrpoMetricNames.PhaseTag]).Distinct()
            .Should().BeEquivalentTo(["generation", "reward", "log_probs", "update", "total"]);
        logs.GetSnapshot().Where(l => l.Id.Id == 1).Should().HaveCount(3);
        logs.GetSnapshot()[0].StructuredState!.Should().Contain(kv => kv.Key == "Step" && kv.Value == "1");
        var lines = File.ReadAllLines(log).Select(l => JsonDocument.Parse(l).RootElement).ToArray();
        lines.Select(l => l.GetProperty("step").GetInt32()).Should().Equal(1, 2, 3);
        lines[1].GetProperty("reward_mean").GetDouble().Should().Be(records[1].RewardMean);
        records.Should().OnlyContain(r => r.Timings.Total >= r.Timings.Generation + r.Timings.Reward + r.Timings.Update);
    }

    private sealed class TestMeterFactory : IMeterFactory
    {
        private readonly List<Meter> _meters = [];

        public Meter Create(MeterOptions options)
        {
            options.Scope = this;
            var meter = new Meter(options);
            _meters.Add(meter);
            return meter;
        }

        public void Dispose() => _meters.ForEach(m => m.Dispose());
    }

    private sealed class SynchronousProgress(List<GrpoStepRecord> records) : IProgress<GrpoStepRecord>
    {
        public void Report(GrpoStepRecord value) => records.Add(value);
    }
}
