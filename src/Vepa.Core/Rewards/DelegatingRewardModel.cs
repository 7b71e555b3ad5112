namespace Vepa;

/// <summary>A reward model that forwards every call to an inner model; derive from it to write a pipeline stage.</summary>
/// <remarks>Disposing the stage disposes the inner model.</remarks>
public abstract class DelegatingRewardModel : IRewardModel
{
    /// <summary>Initializes a new instance of the <see cref="DelegatingRewardModel"/> class.</summary>
    /// <param name="innerModel">The model to forward to.</param>
    /// <exception cref="ArgumentNullException"><paramref name="innerModel"/> is <see langword="null"/>.</exception>
    protected DelegatingRewardModel(IRewardModel innerModel)
    {
        ArgumentNullException.ThrowIfNull(innerModel);
        InnerModel = innerModel;
    }

    /// <summary>Gets the model calls are forwarded to.</summary>
    protected IRewardModel InnerModel { get; }

    /// <inheritdoc />
    public virtual Task<IReadOnlyList<RewardResult>> ScoreAsync(IReadOnlyList<RewardRequest> requests, CancellationToken cancellationToken = default)
        => InnerModel.ScoreAsync(requests, cancellationToken);

    /// <inheritdoc />
    public virtual object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        return serviceKey is null && serviceType.IsInstanceOfType(this)
            ? this
            : InnerModel.GetService(serviceType, serviceKey);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Dispose(disposing: true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases the inner model.</summary>
    /// <param name="disposing"><see langword="true"/> when called from <see cref="Dispose()"/>.</param>
    protected virtual void Dispose(bool disposing)
    {
        if (disposing)
        {
            InnerModel.Dispose();
        }
    }
}
