namespace Vepa;

/// <summary>
/// A reward model broke the <see cref="IRewardModel"/> contract: it returned <see langword="null"/>, a result count that differs from
/// the request count, or a <see langword="null"/> result. This is a bug in the model, never a transient failure, so no pipeline stage
/// retries it or turns it into failed rewards, and the GRPO trainer rethrows it.
/// </summary>
/// <remarks>The message names the stage that saw the violation, what was returned and what was expected; it holds no request text.</remarks>
public sealed class RewardContractException : InvalidOperationException
{
    /// <summary>Initializes a new instance of the <see cref="RewardContractException"/> class.</summary>
    public RewardContractException()
        : base("A reward model broke its contract (one non-null result per request).")
    {
    }

    /// <summary>Initializes a new instance of the <see cref="RewardContractException"/> class.</summary>
    /// <param name="message">What was returned and what was expected.</param>
    public RewardContractException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="RewardContractException"/> class.</summary>
    /// <param name="message">What was returned and what was expected.</param>
    /// <param name="innerException">The underlying exception.</param>
    public RewardContractException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Checks that <paramref name="results"/> holds one non-null result per request.</summary>
    /// <param name="results">What a reward model returned.</param>
    /// <param name="expected">The number of requests it was given.</param>
    /// <param name="caller">Who called the model, for the message (for example "the caching stage" or "the GRPO trainer").</param>
    /// <exception cref="RewardContractException">The list is <see langword="null"/>, has the wrong count, or holds a <see langword="null"/> result.</exception>
    public static void ThrowIfBroken(IReadOnlyList<RewardResult>? results, int expected, string caller)
    {
        if (results is null)
        {
            throw new RewardContractException($"The reward model called by {caller} returned null for {expected} requests; a reward model must return one result per request.");
        }

        if (results.Count != expected)
        {
            throw new RewardContractException(
                $"The reward model called by {caller} returned {results.Count} results for {expected} requests; a reward model must return one result per request.");
        }

        for (int i = 0; i < results.Count; i++)
        {
            if (results[i] is null)
            {
                throw new RewardContractException($"The reward model called by {caller} returned a null result at index {i} of {expected}; a reward model must return one result per request.");
            }
        }
    }
}
