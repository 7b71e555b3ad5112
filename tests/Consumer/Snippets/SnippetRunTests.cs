using Microsoft.Extensions.DependencyInjection;
using TorchSharp;
using Vepa.Grpo;
using static TorchSharp.torch;

namespace Vepa.Consumer.Snippets;

/// <summary>The documented snippets do what the pages say, on small inputs.</summary>
public sealed class SnippetRunTests
{
    private const int Prompts = 3, G = 4, T = 5, H = 8, V = 11;

    [Fact]
    public void The_kernel_step_snippet_produces_gradients_and_finite_statistics()
    {
        using var scope = NewDisposeScope();
        var generator = new Generator(3);
        Tensor hidden = randn(Prompts * G, T, H, generator: generator).requires_grad_();
        Tensor head = (randn(V, H, generator: generator) * 0.1).requires_grad_();
        Tensor ids = randint(0, V, [Prompts * G, T], generator: generator);
        Tensor mask = ones(Prompts * G, T, dtype: ScalarType.Bool);
        Tensor old;
        using (no_grad())
        {
            old = TokenLogProbs.FromHiddenStates(hidden, head, ids, temperature: 0.9) - 0.05;
        }

        PolicyLossStatistics statistics = GrpoSnippets.KernelStep(
            rand(Prompts, G, generator: generator), hidden, head, ids, mask, old, old + 0.1);

        statistics.TokenCount.Should().Be(Prompts * G * T);
        double.IsFinite(statistics.MeanKl).Should().BeTrue();
        head.grad.Should().NotBeNull();
        head.grad!.abs().sum().item<float>().Should().BeGreaterThan(0f);
    }

    [Fact]
    public void The_external_engine_snippet_truncates_large_sampler_weights()
    {
        using var scope = NewDisposeScope();
        Tensor logProbs = full(2, 3, -1.0f).requires_grad_();
        Tensor old = full(2, 3, -1.0f);
        Tensor engine = full(2, 3, -3.0f);   // w = exp(old − engine) = e² > 3: truncated to 3

        double loss = GrpoSnippets.ExternalEngineLoss(logProbs, old, engine, tensor(new float[] { 1f, -1f }), ones(2, 3, dtype: ScalarType.Bool));

        loss.Should().BeApproximately(0.0, 1e-6, "advantages +1 and −1 weighted alike cancel in the sequence mean");
    }

    [Fact]
    public async Task The_pipeline_and_DI_snippets_score_through_their_stages()
    {
        using IRewardModel pipeline = RewardSnippets.ComposePipeline(new ExactAnswerReward());
        IReadOnlyList<RewardResult> results = await pipeline.ScoreAsync([new RewardRequest("Colour?", "red", "a red ball"), new RewardRequest("Colour?", "red", "a blue ball")]);
        results.Select(r => r.Value).Should().Equal(1.0, 0.0);

        await using ServiceProvider provider = RewardSnippets.RegisterThroughDependencyInjection();
        IRewardModel reward = provider.GetRequiredService<IRewardModel>();
        // Empty evidence is legal and insufficient: the custom reward scores it 0 (not a failure), through every stage.
        RewardResult empty = (await reward.ScoreAsync([new RewardRequest("Colour?", "red", "")]))[0];
        empty.Status.Should().Be(RewardStatus.Scored);
        empty.Value.Should().Be(0.0);
        IRewardModel readerReward = provider.GetRequiredKeyedService<IRewardModel>("reader");
        (await readerReward.ScoreAsync([new RewardRequest("What colour is the ball?", "red", "A red ball.")]))[0].Value.Should().Be(1.0);
    }

    [Fact]
    public void The_diagnose_snippet_reports_failures_and_zero_signal_groups()
    {
        using var scope = NewDisposeScope();
        RewardResult[] results = [RewardResult.Scored(1), RewardResult.Failed("reader timed out", isTransient: true), RewardResult.Scored(1), RewardResult.Scored(0)];
        using AdvantageResult advantages = GroupAdvantages.Compute(tensor(results.Select(r => r.Value).ToArray()).reshape(2, 2));
        var statistics = new PolicyLossStatistics(0, 0.25, 0, 1, 0.002, 0, 8);

        string report = GrpoSnippets.Diagnose(results, advantages, statistics);

        report.Should().Contain("failed rewards 1 (first: reader timed out)").And.Contain("excluded 1").And.Contain("zero-signal groups 50");
    }
}
