using BenchmarkDotNet.Attributes;
using Vepa.Benchmarks.Rewards;
using Vepa.Rewards;
using Vepa.Rewards.Tests.Http;

namespace Vepa.Benchmarks;

/// <summary>
/// Wall time to score one GRPO batch of rollouts with the sufficiency reward, when every reader call goes over HTTP to an
/// OpenAI-compatible server that takes 50 ms per call, at several concurrency limits. The baseline is Concurrency = 1
/// (see the "Speed-up vs 1" column); with a server that is not the bottleneck, wall time falls close to 1/Concurrency.
/// </summary>
/// <remarks>
/// Path per rollout: <c>UseConcurrencyLimit</c> → <see cref="SufficiencyRewardModel"/> → the chat-client blind reader →
/// Microsoft.Extensions.AI.OpenAI → the OpenAI client (its retries off) → HTTP/1.1 on 127.0.0.1 → a Kestrel server in the
/// same process (the reader tests' loopback server). No caching stage, and every evidence is distinct, so every rollout
/// is one request. The benchmark throws if any rollout fails or if the server ever saw more requests in flight than the limit.
/// See docs/benchmarks/rewards.md.
/// </remarks>
[MemoryDiagnoser]
[Config(typeof(RewardScoringConfig))]
public class RewardScoringBenchmarks
{
    /// <summary>The time the server takes for each call: a brief answer from a small reader on a busy inference server.</summary>
    public static readonly TimeSpan ServerLatency = TimeSpan.FromMilliseconds(50);

    private LoopbackChatServer? _server;
    private IRewardModel? _model;
    private RewardRequest[] _batch = [];

    /// <summary>Gets or sets the concurrency limit (the most reader calls in flight).</summary>
    [Params(1, 8, 32, 64)]
    public int Concurrency { get; set; }

    /// <summary>Gets or sets the rollouts per batch (for example 128 prompts × G = 4 samples).</summary>
    [Params(512)]
    public int Rollouts { get; set; }

    /// <summary>Starts the server and builds the pipeline and a batch of distinct rollouts.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _server = LoopbackChatServer.StartAsync(ScriptedReply.Answer("[[honest]] blue", ServerLatency)).GetAwaiter().GetResult();
        IBlindReader reader = _server.CreateChatClient().AsBlindReader();
        _model = new SufficiencyRewardModel(reader).AsBuilder().UseConcurrencyLimit(Concurrency).Build();
        _batch = [.. Enumerable.Range(0, Rollouts).Select(i => new RewardRequest(
            "What colour is the car?",
            "blue",
            $"Rollout {i}: a small car with blue paint is parked beside a brick wall.")
        {
            Id = $"prompt {i / 4}, sample {i % 4}",
        })];
    }

    /// <summary>Scores one batch.</summary>
    /// <returns>The number of rollouts scored (all of them).</returns>
    [Benchmark(Baseline = true)]
    public async Task<int> ScoreBatch()
    {
        IReadOnlyList<RewardResult> results = await _model!.ScoreAsync(_batch).ConfigureAwait(false);
        int scored = results.Count(r => r.IsScored);
        if (scored != _batch.Length)
        {
            RewardFailure? first = results.FirstOrDefault(r => !r.IsScored)?.Failure;
            throw new InvalidOperationException($"{_batch.Length - scored} of {_batch.Length} rollouts failed; the first: {first?.Reason}");
        }

        return scored;
    }

    /// <summary>Stops the server and checks that the concurrency limit held.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        int maxInFlight = _server?.MaxInFlight ?? 0;
        _model?.Dispose();
        _server?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        if (maxInFlight > Concurrency)
        {
            throw new InvalidOperationException($"The server saw {maxInFlight} requests in flight with a concurrency limit of {Concurrency}.");
        }
    }
}
