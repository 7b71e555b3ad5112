namespace Vepa.Core.Tests.Rewards.Fakes;

/// <summary>A pass-through stage that appends its name to a shared log on every call, to observe pipeline order.</summary>
public sealed class RecordingStage : DelegatingRewardModel
{
    private readonly List<string> _log;

    /// <summary>Initializes a new instance of the <see cref="RecordingStage"/> class.</summary>
    /// <param name="innerModel">The inner model.</param>
    /// <param name="name">The name logged.</param>
    /// <param name="log">The shared log (locked while appending).</param>
    public RecordingStage(IRewardModel innerModel, string name, List<string> log)
        : base(innerModel)
    {
        Name = name;
        _log = log;
    }

    /// <summary>Gets the stage's name.</summary>
    public string Name { get; }

    /// <summary>Gets the wrapped model (exposed for tests).</summary>
    public IRewardModel Inner => InnerModel;

    /// <inheritdoc />
    public override Task<IReadOnlyList<RewardResult>> ScoreAsync(IReadOnlyList<RewardRequest> requests, CancellationToken cancellationToken = default)
    {
        lock (_log)
        {
            _log.Add(Name);
        }

        return base.ScoreAsync(requests, cancellationToken);
    }
}
