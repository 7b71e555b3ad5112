namespace Vepa.Rewards;

/// <summary>A blind reader backed by a delegate: an in-process reader (a rule-based reader, a local model) or a scripted reader in tests.</summary>
/// <remarks>
/// <para>
/// The delegate's exceptions are reported the way <see cref="IBlindReader"/> requires: a <see cref="BlindReaderException"/> passes
/// through; an <see cref="OperationCanceledException"/> passes through when the caller's token is cancelled; any other exception is
/// wrapped in a <see cref="BlindReaderException"/> whose message names its type and message, transient for
/// <see cref="HttpRequestException"/>, <see cref="TimeoutException"/>, <see cref="IOException"/> and a cancellation the caller did not ask for.
/// A <see langword="null"/> reply becomes a non-transient <see cref="BlindReaderException"/>.
/// </para>
/// <para>The reader is as thread-safe as its delegate.</para>
/// </remarks>
public sealed class DelegateBlindReader : IBlindReader
{
    private readonly Func<BlindReaderQuery, CancellationToken, ValueTask<BlindReaderReply>> _read;

    /// <summary>Initializes a new instance of the <see cref="DelegateBlindReader"/> class with an asynchronous delegate.</summary>
    /// <param name="read">Reads a query and returns the reply; it receives the caller's cancellation token.</param>
    /// <exception cref="ArgumentNullException"><paramref name="read"/> is <see langword="null"/>.</exception>
    public DelegateBlindReader(Func<BlindReaderQuery, CancellationToken, ValueTask<BlindReaderReply>> read)
    {
        ArgumentNullException.ThrowIfNull(read);
        _read = read;
    }

    /// <summary>Initializes a new instance of the <see cref="DelegateBlindReader"/> class with a synchronous delegate.</summary>
    /// <param name="read">Reads a query and returns the reply.</param>
    /// <exception cref="ArgumentNullException"><paramref name="read"/> is <see langword="null"/>.</exception>
    public DelegateBlindReader(Func<BlindReaderQuery, BlindReaderReply> read)
    {
        ArgumentNullException.ThrowIfNull(read);
        _read = (query, _) => ValueTask.FromResult(read(query));
    }

    /// <inheritdoc />
    public async Task<BlindReaderReply> ReadAsync(BlindReaderQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        cancellationToken.ThrowIfCancellationRequested();
        BlindReaderReply? reply;
        try
        {
            reply = await _read(query, cancellationToken).ConfigureAwait(false);
        }
        catch (BlindReaderException)
        {
            throw;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (OperationCanceledException ex)
        {
            throw new BlindReaderException($"The reader delegate was cancelled although the caller's token was not (a timeout?): {ReaderExceptions.Describe(ex)}", isTransient: true, ex);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            throw new BlindReaderException($"The reader delegate threw {ReaderExceptions.Describe(ex)}.", ReaderExceptions.IsTransient(ex), ex);
        }

        return reply ?? throw new BlindReaderException("The reader delegate returned null instead of a reply.", isTransient: false);
    }
}
