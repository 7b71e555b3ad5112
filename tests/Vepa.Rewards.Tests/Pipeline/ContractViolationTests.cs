using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Polly;

namespace Vepa.Rewards.Tests.Pipeline;

/// <summary>A model that breaks the one-result-per-request contract is reported with the same clear error by every stage, and outer stages let it through unchanged.</summary>
public sealed class ContractViolationTests
{
    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (string stage in Stages.Keys)
        {
            foreach (string violation in Violations.Keys)
            {
                data.Add(stage, violation);
            }
        }

        return data;
    }

    private static readonly Dictionary<string, (string Name, Func<RewardModelBuilder, RewardModelBuilder> Add)> Stages = new()
    {
        ["caching"] = ("caching", b => b.UseCaching()),
        ["concurrency"] = ("concurrency limit", b => b.UseConcurrencyLimit(new RewardConcurrencyLimitOptions { MaxConcurrency = 2, MaxBatchSize = 64 })),
        ["retry"] = ("retry", b => b.UseRetry()),
        ["timeout"] = ("timeout", b => b.UseTimeout(TimeSpan.FromSeconds(30))),
        ["circuit-breaker"] = ("configuration circuit breaker", b => b.UseConfigurationCircuitBreaker()),
        ["resilience-pipeline"] = ("resilience pipeline", b => b.UseResiliencePipeline(ResiliencePipeline.Empty)),
        ["logging"] = ("logging", b => b.UseLogging(LoggerFactory.Create(l => l.AddProvider(new FakeLoggerProvider())))),
        ["metrics"] = ("metrics", b => b.UseMetrics()),
    };

    private static readonly Dictionary<string, (Func<IReadOnlyList<RewardRequest>, IReadOnlyList<RewardResult>?> Results, string Message)> Violations = new()
    {
        ["null"] = (_ => null, "returned null for 4 requests; a reward model must return one result per request."),
        ["too-few"] = (r => r.Skip(1).Select(_ => RewardResult.Scored(1)).ToArray(), "returned 3 results for 4 requests; a reward model must return one result per request."),
        ["null-item"] = (r => r.Select((_, i) => i == 2 ? null! : RewardResult.Scored(1)).ToArray(), "returned a null result at index 2 of 4; a reward model must return one result per request."),
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Every_stage_reports_a_broken_contract_with_the_same_error_and_outer_stages_pass_it_through(string stage, string violation)
    {
        var (name, add) = Stages[stage];
        var (results, message) = Violations[violation];
        using IRewardModel inner = add(new BrokenModel(results).AsBuilder()).Build();
        using IRewardModel outer = inner.AsBuilder().UseCaching().UseRetry().UseLogging().UseMetrics().Build();   // stages that pass the batch on whole
        RewardRequest[] requests = [.. Enumerable.Range(0, 4).Select(i => new RewardRequest("Q?", "red", $"evidence {i}"))];

        var direct = () => inner.ScoreAsync(requests);
        var wrapped = () => outer.ScoreAsync(requests);

        string expected = $"The reward model called by the {name} stage {message}";
        (await direct.Should().ThrowAsync<RewardContractException>()).Which.Message.Should().Be(expected);
        (await wrapped.Should().ThrowAsync<RewardContractException>()).Which.Message.Should().Be(expected, "outer stages neither wrap nor retry it");
    }

    private sealed class BrokenModel(Func<IReadOnlyList<RewardRequest>, IReadOnlyList<RewardResult>?> results) : IRewardModel
    {
        public Task<IReadOnlyList<RewardResult>> ScoreAsync(IReadOnlyList<RewardRequest> requests, CancellationToken cancellationToken = default)
            => Task.FromResult(results(requests)!);

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }
}
