using Vepa.Rewards;
using Vepa.Samples.SceneVepa.World;

namespace Vepa.Samples.SceneVepa.Reading;

/// <summary>
/// The grounded reward (<see cref="RewardKind.Grounded"/>): the inner reward times g, where g = 1 when the scene graph makes every
/// fact the evidence states true and g = 0 when any is false. The scene comes from the request's metadata
/// (<see cref="SceneKey"/>, carried over from the prompt); a request without one fails, it is never scored.
/// </summary>
internal sealed class GroundedRewardModel(IRewardModel inner) : DelegatingRewardModel(inner)
{
    /// <summary>The metadata key of the request's <see cref="VqaItem"/> (the scene graph with the question).</summary>
    public const string SceneKey = "scene-vepa.item";

    /// <summary>The component name of the grounding check.</summary>
    public const string GroundingComponent = "g";

    public override async Task<IReadOnlyList<RewardResult>> ScoreAsync(IReadOnlyList<RewardRequest> requests, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(requests);
        var results = await InnerModel.ScoreAsync(requests, cancellationToken).ConfigureAwait(false);
        var grounded = new RewardResult[results.Count];
        for (int i = 0; i < results.Count; i++)
        {
            var result = results[i];
            if (!result.IsScored)
            {
                grounded[i] = result;
                continue;
            }

            if (requests[i].Metadata?.GetValueOrDefault(SceneKey) is not VqaItem item)
            {
                grounded[i] = RewardResult.Failed($"Request {i} (id \"{requests[i].Id}\") carries no scene: the grounded reward needs metadata \"{SceneKey}\" holding the VqaItem.", isTransient: false);
                continue;
            }

            double g = Faithfulness.Check(item, requests[i].Evidence).Hallucinated ? 0 : 1;
            var components = new Dictionary<string, double>(result.Components, StringComparer.Ordinal) { [GroundingComponent] = g };
            grounded[i] = result.IsPenalized
                ? RewardResult.Penalized(result.Value, result.PenaltyCause!, components, result.Annotations)
                : RewardResult.Scored(result.Value * g, components, result.Annotations);
        }

        return grounded;
    }
}
