namespace Vepa;

/// <summary>Composes pipeline stages (concurrency limit, timeout, retry, cache, logging, metrics) around a reward model.</summary>
/// <remarks>
/// Stages are applied so that the first one added is the outermost: <c>builder.UseA().UseB().Build()</c> gives A(B(inner)).
/// </remarks>
public sealed class RewardModelBuilder
{
    private readonly Func<IServiceProvider, IRewardModel> _innerFactory;
    private readonly List<Func<IRewardModel, IServiceProvider, IRewardModel>> _stages = [];

    /// <summary>Initializes a new instance of the <see cref="RewardModelBuilder"/> class.</summary>
    /// <param name="innerModel">The model at the centre of the pipeline.</param>
    /// <exception cref="ArgumentNullException"><paramref name="innerModel"/> is <see langword="null"/>.</exception>
    public RewardModelBuilder(IRewardModel innerModel)
    {
        ArgumentNullException.ThrowIfNull(innerModel);
        _innerFactory = _ => innerModel;
    }

    /// <summary>Initializes a new instance of the <see cref="RewardModelBuilder"/> class.</summary>
    /// <param name="innerModelFactory">Creates the model at the centre of the pipeline from the service provider.</param>
    /// <exception cref="ArgumentNullException"><paramref name="innerModelFactory"/> is <see langword="null"/>.</exception>
    public RewardModelBuilder(Func<IServiceProvider, IRewardModel> innerModelFactory)
    {
        ArgumentNullException.ThrowIfNull(innerModelFactory);
        _innerFactory = innerModelFactory;
    }

    /// <summary>Adds a stage.</summary>
    /// <param name="stageFactory">Wraps the model built so far.</param>
    /// <returns>This builder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="stageFactory"/> is <see langword="null"/>.</exception>
    public RewardModelBuilder Use(Func<IRewardModel, IRewardModel> stageFactory)
    {
        ArgumentNullException.ThrowIfNull(stageFactory);
        return Use((inner, _) => stageFactory(inner));
    }

    /// <summary>Adds a stage that needs services (a logger, a meter factory, a time provider).</summary>
    /// <param name="stageFactory">Wraps the model built so far, given the service provider.</param>
    /// <returns>This builder.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="stageFactory"/> is <see langword="null"/>.</exception>
    public RewardModelBuilder Use(Func<IRewardModel, IServiceProvider, IRewardModel> stageFactory)
    {
        ArgumentNullException.ThrowIfNull(stageFactory);
        _stages.Add(stageFactory);
        return this;
    }

    /// <summary>Builds the pipeline.</summary>
    /// <param name="services">The services stages may resolve; an empty provider when <see langword="null"/>.</param>
    /// <returns>The outermost model.</returns>
    /// <exception cref="InvalidOperationException">A factory returned <see langword="null"/>.</exception>
    public IRewardModel Build(IServiceProvider? services = null)
    {
        services ??= EmptyServiceProvider.Instance;
        IRewardModel model = _innerFactory(services)
            ?? throw new InvalidOperationException("The inner reward model factory returned null.");
        for (int i = _stages.Count - 1; i >= 0; i--)
        {
            model = _stages[i](model, services)
                ?? throw new InvalidOperationException($"The reward pipeline stage at position {i} returned null.");
        }

        return model;
    }

    private sealed class EmptyServiceProvider : IServiceProvider
    {
        public static readonly EmptyServiceProvider Instance = new();

        public object? GetService(Type serviceType) => null;
    }
}
