using Polly;

namespace Vepa.Rewards;

/// <summary>Runs every call of the inner model through a caller's Polly pipeline.</summary>
/// <remarks>Thread-safe when the pipeline is (Polly pipelines are).</remarks>
internal sealed class ResiliencePipelineRewardModel : DelegatingRewardModel
{
    private readonly ResiliencePipeline? _pipeline;
    private readonly ResiliencePipeline<IReadOnlyList<RewardResult>>? _typedPipeline;

    public ResiliencePipelineRewardModel(IRewardModel innerModel, ResiliencePipeline pipeline)
        : base(innerModel)
    {
        ArgumentNullException.ThrowIfNull(pipeline);
        _pipeline = pipeline;
    }

    public ResiliencePipelineRewardModel(IRewardModel innerModel, ResiliencePipeline<IReadOnlyList<RewardResult>> pipeline)
        : base(innerModel)
    {
        ArgumentNullException.ThrowIfNull(pipeline);
        _typedPipeline = pipeline;
    }

    public override async Task<IReadOnlyList<RewardResult>> ScoreAsync(IReadOnlyList<RewardRequest> requests, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(requests);
        cancellationToken.ThrowIfCancellationRequested();
        if (requests.Count == 0)
        {
            return [];
        }

        var state = (Inner: InnerModel, Requests: requests);
        IReadOnlyList<RewardResult> results = _typedPipeline is not null
            ? await _typedPipeline.ExecuteAsync(static async (s, token) => await s.Inner.ScoreAsync(s.Requests, token).ConfigureAwait(false), state, cancellationToken).ConfigureAwait(false)
            : await _pipeline!.ExecuteAsync(static async (s, token) => await s.Inner.ScoreAsync(s.Requests, token).ConfigureAwait(false), state, cancellationToken).ConfigureAwait(false);
        RewardPipelineGuards.EnsureOneResultPerRequest(results, requests.Count, "resilience pipeline");
        return results;
    }
}
