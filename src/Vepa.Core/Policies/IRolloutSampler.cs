namespace Vepa;

/// <summary>Samples G completions per prompt. Implement it to generate rollouts with a local model or an external inference engine.</summary>
/// <remarks>
/// <para>Contract (checked by the policy contract tests a policy's tests inherit):</para>
/// <list type="bullet">
/// <item>The returned batch has <c>prompts.Count × groupSize</c> rows, group after group, each with its decoded text and truncation flag; the caller owns (disposes) it.</item>
/// <item>The completion mask is <see langword="true"/> from the first completion token up to and including the first stop token, and <see langword="false"/> after it.</item>
/// <item>The same <see cref="SamplingOptions.Seed"/>, prompts, options and weights give the same completions.</item>
/// <item>Where the sampler knows them, <see cref="RolloutBatch.SamplerLogProbs"/> holds the log-probs of the sampled tokens under the sampling distribution (after temperature, top-k and top-p), for the loss's sampler correction.</item>
/// <item>A <see langword="null"/> argument throws <see cref="ArgumentNullException"/>; invalid options throw <see cref="ArgumentException"/>; cancellation throws <see cref="OperationCanceledException"/>.</item>
/// </list>
/// </remarks>
public interface IRolloutSampler
{
    /// <summary>Samples <paramref name="groupSize"/> completions for each prompt.</summary>
    /// <param name="prompts">The prompts; at least one.</param>
    /// <param name="groupSize">G, the completions per prompt; at least 1.</param>
    /// <param name="options">The sampling settings.</param>
    /// <param name="cancellationToken">A token that cancels sampling.</param>
    /// <returns>The rollouts; the caller disposes them.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="prompts"/> or <paramref name="options"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="prompts"/> is empty or holds an item the policy cannot encode, or an option is invalid.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="groupSize"/> is less than 1.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    Task<RolloutBatch> SampleAsync(IReadOnlyList<PolicyPrompt> prompts, int groupSize, SamplingOptions options, CancellationToken cancellationToken = default);

    /// <summary>Asks for an object of the given type from this sampler or the objects it wraps.</summary>
    /// <param name="serviceType">The type of object requested.</param>
    /// <param name="serviceKey">An optional key.</param>
    /// <returns>The object, or <see langword="null"/> when none is available.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="serviceType"/> is <see langword="null"/>.</exception>
    object? GetService(Type serviceType, object? serviceKey = null);
}
