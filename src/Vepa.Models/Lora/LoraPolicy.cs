using TorchSharp;
using TorchSharp.Modules;
using Vepa.Grpo;
using static TorchSharp.torch;

namespace Vepa.Models;

/// <summary>
/// A policy trained through LoRA adapters: it applies <see cref="LoraAdapters"/> to another policy's model (a <see cref="QwenPolicy"/>
/// or a <see cref="TorchPolicy"/> over Qwen layers or <see cref="AdaptableLinear"/> layers), trains only the adapters, and gives GRPO a reference that is the same model with
/// the adapters switched off, so no second copy of the weights exists (TRL does the same with a PEFT model).
/// </summary>
/// <remarks>
/// <para><b>Using it.</b> <c>using var policy = new LoraPolicy(QwenPolicy.FromPretrained(folder), new LoraOptions { Rank = 16, Alpha = 32 });</c>
/// then hand it to <see cref="GrpoTrainer"/>: the optimizer sees <see cref="TrainableParameters"/> (A and B) only, and with β &gt; 0
/// the trainer's reference is <see cref="CreateReference"/>'s adapters-off view. Save the adapters with
/// <c>policy.Adapters.SavePeft(folder)</c>; export a merged model with <c>Adapters.Merge()</c>, the wrapped policy's Hugging Face
/// save, then <c>Adapters.Unmerge()</c>.</para>
/// <para><b>State.</b> <see cref="GetState"/> is the wrapped policy's whole state, base weights and adapters (names
/// <c>….q_proj.lora_A.weight</c>), so checkpoints resume exactly. The reference view has no state of its own.</para>
/// <para>The policy owns the wrapped policy and disposes it. Sampling goes through the wrapped policy's sampler, with the adapters on.
/// Not thread-safe.</para>
/// </remarks>
public sealed class LoraPolicy : IPolicy
{
    private readonly IPolicy _inner;
    private bool _disposed;

    /// <summary>Initializes a new instance of the <see cref="LoraPolicy"/> class: applies adapters to <paramref name="policy"/>'s model.</summary>
    /// <param name="policy">The policy whose model gets adapters; owned from now on, and disposed if the constructor throws. Its model is found through <c>GetService(typeof(PolicyModule))</c>.</param>
    /// <param name="options">The adapters' settings; <see langword="null"/> uses the defaults (r = 8, α = 8, Qwen's seven projections).</param>
    /// <exception cref="ArgumentNullException"><paramref name="policy"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">The policy offers no <see cref="PolicyModule"/>, an option is invalid, or the targets match no Vepa linear layer (see <see cref="LoraAdapters.Apply"/>).</exception>
    public LoraPolicy(IPolicy policy, LoraOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(policy);
        try
        {
            var module = policy.GetService(typeof(PolicyModule)) as PolicyModule
                ?? throw new ArgumentException($"{policy.GetType().Name} offers no PolicyModule through GetService, so it has no module to put adapters on.", nameof(policy));
            Adapters = LoraAdapters.Apply(module, options);
        }
        catch
        {
            // Owned from the call on, so `new LoraPolicy(QwenPolicy.FromPretrained(...))` does not leak the model on a bad option.
            policy.Dispose();
            throw;
        }

        _inner = policy;
    }

    /// <summary>Gets the adapters: switch them off, merge them, or save them in PEFT's format (<see cref="LoraAdapters.SavePeft"/>).</summary>
    public LoraAdapters Adapters { get; }

    /// <summary>Gets the wrapped policy (its model carries the adapters).</summary>
    public IPolicy InnerPolicy => _inner;

    /// <inheritdoc />
    public IRolloutSampler Sampler => _inner.Sampler;

    /// <inheritdoc />
    /// <remarks>The adapters' A and B only; every base weight is frozen.</remarks>
    public IReadOnlyList<Parameter> TrainableParameters => Adapters.TrainableParameters;

    /// <inheritdoc />
    public PolicyLogProbs ComputeLogProbs(RolloutBatch rollouts, PolicyLogProbOptions options)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _inner.ComputeLogProbs(rollouts, options);
    }

    /// <inheritdoc />
    /// <remarks>
    /// Returns a view, not a copy: this policy's model with the adapters switched off for each of its calls. It computes the base
    /// model's log-probs exactly, the adapters' training never changes it (the base weights are frozen), and it costs no memory.
    /// It has no state of its own (<see cref="IPolicy.GetState"/> is empty), does not own the model (disposing it frees nothing), and
    /// must not outlive this policy. It fails while the adapters are merged.
    /// </remarks>
    public IPolicy CreateReference()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return new AdaptersOffPolicy(this);
    }

    /// <inheritdoc />
    /// <exception cref="InvalidOperationException">The adapters are merged: the state would hold W + ΔW beside A and B, and a resume would add ΔW twice.</exception>
    public IReadOnlyDictionary<string, Tensor> GetState()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        Adapters.ThrowIfMerged("take the policy's state (it would hold W + ΔW beside A and B)");
        return _inner.GetState();
    }

    /// <inheritdoc />
    /// <exception cref="InvalidOperationException">The adapters are merged: a later Unmerge would subtract the loaded ΔW from the loaded base weights.</exception>
    public void LoadState(IReadOnlyDictionary<string, Tensor> state)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        Adapters.ThrowIfMerged("load a state into the policy");
        _inner.LoadState(state);
    }

    /// <inheritdoc />
    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey is not null)
        {
            return null;
        }

        return serviceType.IsInstanceOfType(this) ? this
            : serviceType.IsInstanceOfType(Adapters) ? Adapters
            : _inner.GetService(serviceType, serviceKey);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _inner.Dispose();
    }

    /// <summary>The reference view: the policy's model with the adapters switched off around every call.</summary>
    private sealed class AdaptersOffPolicy(LoraPolicy owner) : IPolicy
    {
        private static readonly IReadOnlyDictionary<string, Tensor> NoState = new Dictionary<string, Tensor>();

        public IRolloutSampler Sampler { get; } = new AdaptersOffSampler(owner);

        public IReadOnlyList<Parameter> TrainableParameters => [];

        public PolicyLogProbs ComputeLogProbs(RolloutBatch rollouts, PolicyLogProbOptions options)
        {
            using var off = owner.Adapters.DisableAdapters();
            return owner.ComputeLogProbs(rollouts, options);
        }

        public IPolicy CreateReference() => new AdaptersOffPolicy(owner);

        public IReadOnlyDictionary<string, Tensor> GetState() => NoState;

        public void LoadState(IReadOnlyDictionary<string, Tensor> state)
        {
            ArgumentNullException.ThrowIfNull(state);
            if (state.Count > 0)
            {
                throw new ArgumentException(
                    $"The adapters-off reference of a LoRA policy has no state of its own (it is the policy's frozen base model); unexpected {string.Join(", ", state.Keys.Take(4).Select(k => $"\"{k}\""))}{(state.Count > 4 ? ", …" : "")}.",
                    nameof(state));
            }
        }

        public object? GetService(Type serviceType, object? serviceKey = null)
        {
            ArgumentNullException.ThrowIfNull(serviceType);
            return serviceKey is null && serviceType.IsInstanceOfType(this) ? this : null;
        }

        public void Dispose()
        {
        }
    }

    /// <summary>Samples from the base model: the owner's sampler with the adapters switched off for the call.</summary>
    private sealed class AdaptersOffSampler(LoraPolicy owner) : IRolloutSampler
    {
        public async Task<RolloutBatch> SampleAsync(IReadOnlyList<PolicyPrompt> prompts, int groupSize, SamplingOptions options, CancellationToken cancellationToken = default)
        {
            using var off = owner.Adapters.DisableAdapters();
            return await owner.Sampler.SampleAsync(prompts, groupSize, options, cancellationToken).ConfigureAwait(false);
        }

        public object? GetService(Type serviceType, object? serviceKey = null)
        {
            ArgumentNullException.ThrowIfNull(serviceType);
            return serviceKey is null && serviceType.IsInstanceOfType(this) ? this : null;
        }
    }
}
