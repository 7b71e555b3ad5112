using TorchSharp;
using static TorchSharp.torch;

namespace Vepa.Grpo.Tests.Training;

/// <summary>
/// A fake inference engine for the trainer's tests: it samples from its own frozen copy of the policy, which changes only through
/// its <see cref="IWeightSynchronizer"/>, and records what it did. Its sampler log-probs are its copy's log-probs plus scripted noise.
/// </summary>
internal sealed class FakeEngine : IRolloutSampler, IWeightSynchronizer, IDisposable
{
    private readonly IPolicy _copy;
    private readonly bool _remote;
    private readonly bool _offersSynchronizer;
    private readonly bool _tagsVersion;
    private int _syncCalls;
    private volatile bool _sampling;

    public FakeEngine(IPolicy policy, bool remote = true, bool offersSynchronizer = true, bool tagsVersion = true)
    {
        _copy = policy.CreateReference();
        _remote = remote;
        _offersSynchronizer = offersSynchronizer;
        _tagsVersion = tagsVersion;
    }

    /// <summary>Gets the version the engine's weights hold.</summary>
    public long Version { get; private set; }

    public List<long> SyncedVersions { get; } = [];

    public List<long> SampledVersions { get; } = [];

    public List<double> SampledChecksums { get; } = [];

    /// <summary>Gets or sets what the engine adds to its version when it tags a batch (a broken engine).</summary>
    public long TagOffset { get; set; }

    /// <summary>Gets or sets the 1-based sync call that throws.</summary>
    public int? FailSyncAt { get; set; }

    /// <summary>Gets or sets the noise added to the sampler log-probs at masked-in tokens (drawn per batch from this seeded source); null reports the copy's log-probs as they are.</summary>
    public Func<double>? Noise { get; set; }

    /// <summary>Gets, per batch, the noise added at each token [B·T] and the mask [B·T].</summary>
    public List<(double[] Noise, bool[] Mask)> Captured { get; } = [];

    public bool SyncedWhileSampling { get; private set; }

    public async Task<RolloutBatch> SampleAsync(IReadOnlyList<PolicyPrompt> prompts, int groupSize, SamplingOptions options, CancellationToken cancellationToken = default)
    {
        _sampling = true;
        try
        {
            await Task.Yield();
            lock (SampledVersions)
            {
                SampledVersions.Add(Version);
                SampledChecksums.Add(Checksum(_copy));
            }

            using var inner = await _copy.Sampler.SampleAsync(prompts, groupSize, options, cancellationToken);
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            var logProbs = _copy.ComputeLogProbs(inner, new PolicyLogProbOptions { Temperature = options.Temperature }).LogProbs.to(ScalarType.Float64);
            bool[] mask = inner.CompletionMask.reshape(-1).data<bool>().ToArray();
            double[] noise = mask.Select(m => m && Noise is not null ? Noise() : 0.0).ToArray();
            Captured.Add((noise, mask));
            var sampler = (logProbs + tensor(noise).reshape(logProbs.shape)).to(ScalarType.Float32);
            return new RolloutBatch(prompts, groupSize, inner.CompletionIds.clone(), inner.CompletionMask.clone(), inner.Truncated, inner.Texts, sampler)
            {
                WeightVersion = _tagsVersion ? Version + TagOffset : 0,
            };
        }
        finally
        {
            _sampling = false;
        }
    }

    public Task SynchronizeAsync(IPolicy policy, long version, CancellationToken cancellationToken = default)
    {
        SyncedWhileSampling |= _sampling;
        if (++_syncCalls == FailSyncAt)
        {
            throw new InvalidOperationException("the engine at 127.0.0.1 is down");
        }

        _copy.LoadState(policy.GetState());
        Version = version;
        SyncedVersions.Add(version);
        return Task.CompletedTask;
    }

    public object? GetService(Type serviceType, object? serviceKey = null)
        => serviceType == typeof(RolloutSamplerMetadata) ? new RolloutSamplerMetadata("fake-engine", new Uri("http://127.0.0.1:1"), "tiny", _remote)
        : serviceType == typeof(IWeightSynchronizer) ? (_offersSynchronizer ? this : null)
        : serviceType.IsInstanceOfType(this) ? this
        : null;

    public void Dispose() => _copy.Dispose();

    /// <summary>Σ x + Σ x² over the policy's state, in float64: tells weight versions apart.</summary>
    public static double Checksum(IPolicy policy)
    {
        using var scope = NewDisposeScope();
        return policy.GetState().Values.Sum(t =>
        {
            var x = t.detach().to(ScalarType.Float64);
            return x.sum().item<double>() + x.square().sum().item<double>();
        });
    }
}

/// <summary>A policy that records the checksum of the weights each of its samplers (its own and its copies') samples from.</summary>
internal sealed class RecordingPolicy : IPolicy
{
    private readonly IPolicy _inner;
    private readonly RecordingSampler _sampler;

    public RecordingPolicy(IPolicy inner, List<double> sampled)
    {
        _inner = inner;
        Sampled = sampled;
        _sampler = new RecordingSampler(this);
    }

    public List<double> Sampled { get; }

    public IRolloutSampler Sampler => _sampler;

    public IReadOnlyList<TorchSharp.Modules.Parameter> TrainableParameters => _inner.TrainableParameters;

    public PolicyLogProbs ComputeLogProbs(RolloutBatch rollouts, PolicyLogProbOptions options) => _inner.ComputeLogProbs(rollouts, options);

    public IPolicy CreateReference() => new RecordingPolicy(_inner.CreateReference(), Sampled);

    public IReadOnlyDictionary<string, Tensor> GetState() => _inner.GetState();

    public void LoadState(IReadOnlyDictionary<string, Tensor> state) => _inner.LoadState(state);

    public object? GetService(Type serviceType, object? serviceKey = null) => _inner.GetService(serviceType, serviceKey);

    public void Dispose() => _inner.Dispose();

    private sealed class RecordingSampler(RecordingPolicy owner) : IRolloutSampler
    {
        public Task<RolloutBatch> SampleAsync(IReadOnlyList<PolicyPrompt> prompts, int groupSize, SamplingOptions options, CancellationToken cancellationToken = default)
        {
            lock (owner.Sampled)
            {
                owner.Sampled.Add(FakeEngine.Checksum(owner._inner));
            }

            return owner._inner.Sampler.SampleAsync(prompts, groupSize, options, cancellationToken);
        }

        public object? GetService(Type serviceType, object? serviceKey = null) => owner._inner.Sampler.GetService(serviceType, serviceKey);
    }
}
