using Polly;
using Polly.Retry;
using Vepa.Core.Tests.Rewards.Fakes;

namespace Vepa.Rewards.Tests.Pipeline;

/// <summary>A caller's Polly pipeline runs around each inner call: directly (<c>UseResiliencePipeline</c>) or inside <c>UseResilience</c>.</summary>
public sealed class ResiliencePipelineTests
{
    private static readonly RewardRequest[] Batch = [new("Q?", "red", "A red ball.") { Id = "a" }, new("Q2?", "2", "Two cubes.") { Id = "b" }];

    [Fact]
    public async Task A_callers_pipeline_handles_what_the_inner_call_throws()
    {
        int calls = 0;
        var inner = new FakeRewardModel { OnCall = (_, _) => Interlocked.Increment(ref calls) == 1 ? Task.FromException(new InvalidOperationException("flaky")) : Task.CompletedTask };
        ResiliencePipeline retryOnce = new ResiliencePipelineBuilder()
            .AddRetry(new RetryStrategyOptions { MaxRetryAttempts = 1, Delay = TimeSpan.Zero, ShouldHandle = new PredicateBuilder().Handle<InvalidOperationException>() })
            .Build();
        using IRewardModel model = inner.AsBuilder().UseResiliencePipeline(retryOnce).Build();

        IReadOnlyList<RewardResult> results = await model.ScoreAsync(Batch);

        calls.Should().Be(2);
        results.Select(r => r.Value).Should().Equal(Batch.Select(r => FakeRewardModel.Deterministic(r).Value));
    }

    [Fact]
    public async Task A_typed_pipeline_can_judge_the_results()
    {
        int calls = 0;
        var inner = new FakeRewardModel((request, attempt) => Interlocked.Increment(ref calls) <= 2 ? RewardResult.Failed("busy", isTransient: true) : FakeRewardModel.Deterministic(request));
        ResiliencePipeline<IReadOnlyList<RewardResult>> retryWhileFailed = new ResiliencePipelineBuilder<IReadOnlyList<RewardResult>>()
            .AddRetry(new RetryStrategyOptions<IReadOnlyList<RewardResult>>
            {
                MaxRetryAttempts = 2,
                Delay = TimeSpan.Zero,
                ShouldHandle = args => ValueTask.FromResult(args.Outcome.Result?.Any(r => !r.IsScored) == true),
            })
            .Build();
        using IRewardModel model = inner.AsBuilder().UseResiliencePipeline(retryWhileFailed).Build();

        IReadOnlyList<RewardResult> results = await model.ScoreAsync(Batch);

        results.Should().OnlyContain(r => r.IsScored);
    }

    [Fact]
    public async Task UseResilience_runs_the_callers_pipeline_inside_its_own_stages()
    {
        int calls = 0;
        var inner = new FakeRewardModel { OnCall = (_, _) => Interlocked.Increment(ref calls) == 1 ? Task.FromException(new InvalidOperationException("flaky")) : Task.CompletedTask };
        ResiliencePipeline retryOnce = new ResiliencePipelineBuilder()
            .AddRetry(new RetryStrategyOptions { MaxRetryAttempts = 1, Delay = TimeSpan.Zero, ShouldHandle = new PredicateBuilder().Handle<InvalidOperationException>() })
            .Build();
        using IRewardModel model = inner.AsBuilder().UseResilience(o =>
        {
            o.Pipeline = retryOnce;
            o.ConcurrencyLimit.MaxBatchSize = 2;
        }).Build();

        IReadOnlyList<RewardResult> results = await model.ScoreAsync(Batch);

        calls.Should().Be(2);
        results.Should().OnlyContain(r => r.IsScored);
    }

    [Fact]
    public void Null_arguments_are_rejected()
    {
        FluentActions.Invoking(() => new FakeRewardModel().AsBuilder().UseResiliencePipeline((ResiliencePipeline)null!))
            .Should().Throw<ArgumentNullException>().Which.ParamName.Should().Be("pipeline");
        FluentActions.Invoking(() => ((RewardModelBuilder)null!).UseResiliencePipeline(ResiliencePipeline.Empty))
            .Should().Throw<ArgumentNullException>().Which.ParamName.Should().Be("builder");
    }
}
