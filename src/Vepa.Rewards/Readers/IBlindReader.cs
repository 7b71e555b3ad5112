namespace Vepa.Rewards;

/// <summary>A text-only "blind reader": answers a question from evidence text alone and judges whether the evidence cheats.</summary>
/// <remarks>
/// Implementations report a call that could not produce an answer by throwing <see cref="BlindReaderException"/>
/// (with <see cref="BlindReaderException.IsTransient"/> set when retrying may help). Cancellation through the token
/// throws <see cref="OperationCanceledException"/>. Implementations are safe to call concurrently.
/// </remarks>
public interface IBlindReader
{
    /// <summary>Reads the evidence and answers the question.</summary>
    /// <param name="query">The question, evidence and optional choices.</param>
    /// <param name="cancellationToken">A token that cancels the call.</param>
    /// <returns>The reader's answer and honesty judgement.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="query"/> is <see langword="null"/>.</exception>
    /// <exception cref="BlindReaderException">The reader could not produce an answer.</exception>
    Task<BlindReaderReply> ReadAsync(BlindReaderQuery query, CancellationToken cancellationToken = default);
}
