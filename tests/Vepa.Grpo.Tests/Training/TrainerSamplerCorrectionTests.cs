using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace Vepa.Grpo.Tests.Training;

/// <summary>The automatic sampler-mismatch correction for remote samplers, and the sampler KL and corrected-share metrics.</summary>
[Collection("Sequential")]
public sealed class TrainerSamplerCorrectionTests
{
    [Theory]
    [InlineData(true, true, SamplerCorrectionMode.Truncate)]
    [InlineData(false, true, SamplerCorrectionMode.None)]
    [InlineData(true, false, SamplerCorrectionMode.None)]
    public async Task The_correction_turns_itself_on_only_for_a_remote_sampler_with_log_probs_and_is_logged_once(
        bool remote, bool auto, SamplerCorrectionMode expected)
    {
        using var threads = new SingleThreadedTorch();
        using var policy = TrainerWeightSyncTests.NewPolicy();
        using var engine = new FakeEngine(policy, remote: remote);
        var logs = new FakeLogCollector();
        using var loggerFactory = LoggerFactory.Create(b => b.AddProvider(new FakeLoggerProvider(logs)));
        var options = TrainerWeightSyncTests.Options();
        options.AutoSamplerCorrection = auto;
        using var trainer = new GrpoTrainer(policy, TrainerWeightSyncTests.Reward(), options, sampler: engine, loggerFactory: loggerFactory);

        var records = await trainer.TrainAsync(Enumerable.Range(0, 3).Select(s => ToyTask.Batch(s, 3)));

        records.Should().OnlyContain(r => r.SamplerCorrection == expected);
        logs.GetSnapshot().Count(l => l.Id.Id == 40).Should().Be(expected == SamplerCorrectionMode.None ? 0 : 1);
        trainer.Options.Loss.SamplerCorrection.Should().Be(SamplerCorrectionMode.None, "the configured loss is not changed");
    }

    [Fact]
    public async Task The_automatic_correction_weights_the_policy_gradient_by_the_truncated_sampler_ratio()
    {
        // The engine reports log-probs 0.5 nats below its own (= the trainer's) at every token: w = e^0.5 everywhere, under the
        // cap 3, so the β = 0 policy gradient of the remote run is e^0.5 times the local run's on the same batch. With 1.5 nats,
        // w = e^1.5 > 3 is truncated to 3 at every token.
        foreach (var (offset, factor) in new[] { (0.5, Math.Exp(0.5)), (1.5, 3.0) })
        {
            var local = await GradNormAsync(remote: false, offset);
            var remote = await GradNormAsync(remote: true, offset);
            remote.Record.GradNorm.Should().BeApproximately(factor * local.Record.GradNorm, 1e-5 * factor * local.Record.GradNorm);
            remote.Record.SamplerCorrectionFraction.Should().Be(offset == 1.5 ? 1.0 : 0.0);
        }
    }

    [Fact]
    public async Task The_sampler_kl_and_the_truncated_share_match_a_float64_computation_from_the_engines_noise()
    {
        using var threads = new SingleThreadedTorch();
        using var policy = TrainerWeightSyncTests.NewPolicy();
        var random = new Random(11);
        using var engine = new FakeEngine(policy) { Noise = () => 0.7 * Gaussian(random) };
        using var trainer = new GrpoTrainer(policy, TrainerWeightSyncTests.Reward(), TrainerWeightSyncTests.Options(), sampler: engine);

        var record = await trainer.StepAsync(ToyTask.Batch(0, 4));

        // log r = log π_old − log π_sampler = −noise at every completion token (μ = 1: π_old is the policy before the update,
        // whose weights the engine holds). k3 = r − 1 − log r; the cap is 3 (TRL's), the floor 0.
        var (noise, mask) = engine.Captured.Single();
        var logRatios = noise.Where((_, i) => mask[i]).Select(n => -n).ToArray();
        double kl = logRatios.Average(x => Math.Exp(x) - 1 - x);
        double truncated = logRatios.Count(x => Math.Exp(x) > 3.0) / (double)logRatios.Length;
        truncated.Should().BeGreaterThan(0, "the noise is wide enough that some weights exceed the cap");
        record.SamplerKl.Should().BeApproximately(kl, 1e-6 * kl);
        record.SamplerCorrectionFraction.Should().BeApproximately(truncated, 1e-12);
        record.SamplerCorrection.Should().Be(SamplerCorrectionMode.Truncate);
    }

    [Fact]
    public async Task The_policys_own_sampler_agrees_with_the_trainer_and_is_not_corrected()
    {
        using var threads = new SingleThreadedTorch();
        using var policy = TrainerWeightSyncTests.NewPolicy();
        using var trainer = new GrpoTrainer(policy, TrainerWeightSyncTests.Reward(), TrainerWeightSyncTests.Options());

        var record = await trainer.StepAsync(ToyTask.Batch(0, 3));

        record.SamplerCorrection.Should().Be(SamplerCorrectionMode.None);
        record.SamplerKl.Should().BeInRange(0, 1e-9, "the same weights and the same float32 math, up to rounding");
        record.SamplerCorrectionFraction.Should().Be(0);
        record.WeightVersionLag.Should().Be(0);
    }

    private static async Task<(GrpoStepRecord Record, double Unused)> GradNormAsync(bool remote, double offset)
    {
        using var threads = new SingleThreadedTorch();
        using var policy = TrainerWeightSyncTests.NewPolicy();
        using var engine = new FakeEngine(policy, remote: remote) { Noise = () => -offset };
        var options = TrainerWeightSyncTests.Options();
        options.MaxGradNorm = null;
        using var trainer = new GrpoTrainer(policy, TrainerWeightSyncTests.Reward(), options, sampler: engine);
        var record = await trainer.StepAsync(ToyTask.Batch(0, 4));
        record.GradNorm.Should().BeGreaterThan(0);
        return (record, 0);
    }

    private static double Gaussian(Random random) => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
}
