using TorchSharp;
using TorchSharp.Modules;

namespace Vepa;

/// <summary>
/// A trainable policy π_θ(completion | prompt): per-token log-probs of given completions with gradient, its trainable parameters,
/// a frozen reference copy, its named state, and a default sampler. Implement it to plug any model into the GRPO trainer.
/// </summary>
/// <remarks>
/// <para>The sampler is separate (<see cref="Sampler"/>) so rollouts may come from elsewhere, such as an inference engine that
/// reports its own log-probs; the trainer then corrects for the mismatch with the loss's sampler correction.</para>
/// <para>Contract (checked by the policy contract tests a policy's tests inherit):</para>
/// <list type="bullet">
/// <item><see cref="ComputeLogProbs"/> returns [R, T] for the requested rows (all B rows by default), in the dtype and on the device of the
/// policy, equal to log softmax(logits / τ)[token] at every masked-in position; values at masked-out positions are finite but unspecified.</item>
/// <item>Log-probs carry gradient to <see cref="TrainableParameters"/> unless computed under <c>no_grad</c>.</item>
/// <item><see cref="CreateReference"/> returns an independent frozen copy: later updates of this policy do not change it, and it has no trainable parameters.</item>
/// <item><see cref="GetState"/> and <see cref="LoadState"/> round-trip exactly; <see cref="LoadState"/> rejects missing or unexpected names and wrong shapes or dtypes with an error naming them.</item>
/// <item>Not thread-safe: one training loop uses a policy at a time.</item>
/// </list>
/// </remarks>
public interface IPolicy : IDisposable
{
    /// <summary>Gets the policy's own sampler (the default source of rollouts).</summary>
    IRolloutSampler Sampler { get; }

    /// <summary>Gets the parameters an optimizer updates, in a stable order.</summary>
    IReadOnlyList<Parameter> TrainableParameters { get; }

    /// <summary>Computes per-token log-probs of the batch's completions given their prompts.</summary>
    /// <param name="rollouts">The completions and their prompts.</param>
    /// <param name="options">The temperature, the rows and whether to compute the entropy.</param>
    /// <returns>The log-probs [R, T] (and entropy); they belong to the current dispose scope.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="rollouts"/> or <paramref name="options"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">An option is invalid, or the batch holds a prompt or token the policy cannot encode.</exception>
    PolicyLogProbs ComputeLogProbs(RolloutBatch rollouts, PolicyLogProbOptions options);

    /// <summary>Creates a frozen copy of this policy: the reference π_ref of the KL penalty.</summary>
    /// <returns>A new, independent policy with no trainable parameters; the caller disposes it.</returns>
    IPolicy CreateReference();

    /// <summary>Gets the policy's named state tensors (parameters and buffers): the live tensors, not copies.</summary>
    /// <returns>The state by name, in a stable order. Do not dispose the tensors.</returns>
    IReadOnlyDictionary<string, torch.Tensor> GetState();

    /// <summary>Copies values into the policy's state tensors.</summary>
    /// <param name="state">Values by name; each must match the name, shape and dtype of <see cref="GetState"/>. The tensors are read, not kept.</param>
    /// <exception cref="ArgumentNullException"><paramref name="state"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">A name is missing or unexpected, or a shape or dtype differs; the message names each.</exception>
    void LoadState(IReadOnlyDictionary<string, torch.Tensor> state);

    /// <summary>Asks for an object of the given type from this policy or the objects it wraps (the module, the tokenizer, …).</summary>
    /// <param name="serviceType">The type of object requested.</param>
    /// <param name="serviceKey">An optional key.</param>
    /// <returns>The object, or <see langword="null"/> when none is available.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="serviceType"/> is <see langword="null"/>.</exception>
    object? GetService(Type serviceType, object? serviceKey = null);
}
