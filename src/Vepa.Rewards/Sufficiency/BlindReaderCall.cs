namespace Vepa.Rewards;

/// <summary>Calls a blind reader and turns every way the call can go wrong into a <see cref="RewardFailure"/>, except the caller's cancellation.</summary>
internal static class BlindReaderCall
{
    /// <summary>Reads <paramref name="query"/> with <paramref name="reader"/>.</summary>
    /// <param name="reader">The reader.</param>
    /// <param name="query">The query.</param>
    /// <param name="cancellationToken">The caller's token.</param>
    /// <returns>The reply (with a non-null answer), or the failure, classified by <see cref="RewardFailureKind"/>.</returns>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public static async Task<(BlindReaderReply? Reply, RewardFailure? Failure)> TryReadAsync(IBlindReader reader, BlindReaderQuery query, CancellationToken cancellationToken)
    {
        BlindReaderReply? reply;
        try
        {
            reply = await reader.ReadAsync(query, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (BlindReaderException ex)
        {
            return (null, new RewardFailure($"The blind reader failed: {ex.Message}", ex.IsTransient, ex, ex.Kind));
        }
        catch (OperationCanceledException ex)
        {
            return (null, new RewardFailure($"The blind reader call was cancelled although the caller's token was not (a timeout?): {ReaderExceptions.Describe(ex)}", IsTransient: true, ex));
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            return (null, new RewardFailure($"The blind reader threw {ReaderExceptions.Describe(ex)}.", ReaderExceptions.IsTransient(ex), ex));
        }

        if (reply is null)
        {
            return (null, new RewardFailure("The blind reader returned no reply (null).", IsTransient: false));
        }

        if (reply.Answer is null)
        {
            return (null, new RewardFailure("The blind reader returned a reply whose answer is null.", IsTransient: false));
        }

        return (reply, null);
    }
}
