using FluentAssertions;
using Vepa.Rewards;
using Xunit;

namespace Vepa.Testing;

/// <summary>
/// The contract every <see cref="IBlindReader"/> meets. An implementation's test class inherits this class and overrides
/// <see cref="CreateReader"/>; every <c>[Fact]</c> below then runs against that implementation.
/// </summary>
/// <remarks>
/// <para>Protected hooks an implementation's test class may override:</para>
/// <list type="bullet">
/// <item><see cref="CreateReader"/> (required): a fresh reader for one test.</item>
/// <item><see cref="CreateQueries"/>: the queries the tests read (default: <see cref="DefaultQueries"/>); the reader answers each of them.</item>
/// <item><see cref="IsDeterministic"/>: whether reading the same query twice gives the same reply (default <see langword="true"/>).</item>
/// <item><see cref="CallTimeout"/>: the longest one call may take before the test fails instead of hanging (default 30 s).</item>
/// <item><see cref="ConcurrentCallers"/>: how many callers read at once in the concurrency test (default 8).</item>
/// </list>
/// <para>A reader that owns resources and implements <see cref="IDisposable"/> is disposed after each test.</para>
/// </remarks>
public abstract class BlindReaderContractTests
{
    /// <summary>Gets whether reading the same query twice gives the same answer and honesty verdict.</summary>
    /// <value>The default is <see langword="true"/>. When <see langword="false"/>, the concurrency test checks well-formedness only.</value>
    protected virtual bool IsDeterministic => true;

    /// <summary>Gets the longest one call to the reader may take before the test fails rather than blocks.</summary>
    /// <value>The default is 30 seconds.</value>
    protected virtual TimeSpan CallTimeout => TimeSpan.FromSeconds(30);

    /// <summary>Gets how many callers read the queries at the same time in <see cref="Concurrent_calls_are_safe"/>.</summary>
    /// <value>The default is 8.</value>
    protected virtual int ConcurrentCallers => 8;

    /// <summary>Creates a fresh reader under test.</summary>
    /// <returns>The reader.</returns>
    protected abstract IBlindReader CreateReader();

    /// <summary>Creates the queries the tests read: at least two, which the reader answers without failing.</summary>
    /// <returns>The queries; the default is <see cref="DefaultQueries"/>.</returns>
    protected virtual IReadOnlyList<BlindReaderQuery> CreateQueries() => DefaultQueries();

    /// <summary>A small mixed set: an open question, a multiple-choice item, and the question alone (empty evidence, as in the visual-dependency check).</summary>
    /// <returns>Three distinct queries.</returns>
    public static IReadOnlyList<BlindReaderQuery> DefaultQueries() =>
    [
        new("What colour is the ball?", "A small red ball lies on the grass next to a blue cube."),
        new("Which shape is largest?", "The cylinder is the largest object; the cube and sphere are small.", ["cube", "cylinder", "sphere"]),
        new("What colour is the ball?", string.Empty),
    ];

    /// <summary>Reads <paramref name="query"/>, failing the test if the call takes longer than <see cref="CallTimeout"/>.</summary>
    /// <param name="reader">The reader.</param>
    /// <param name="query">The query.</param>
    /// <param name="cancellationToken">The token passed to the reader.</param>
    /// <returns>The reply.</returns>
    protected async Task<BlindReaderReply> ReadAsync(IBlindReader reader, BlindReaderQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(reader);
        return await reader.ReadAsync(query, cancellationToken).WaitAsync(CallTimeout, CancellationToken.None);
    }

    /// <summary>Asserts the invariants of one reply: not <see langword="null"/>, with a non-<see langword="null"/> answer.</summary>
    /// <param name="reply">The reply.</param>
    /// <param name="because">Names the query in the failure message.</param>
    protected static void AssertWellFormed(BlindReaderReply reply, string because)
    {
        reply.Should().NotBeNull(because);
        reply.Answer.Should().NotBeNull(because);
    }

    /// <summary>Every query gets a well-formed reply (an answer, possibly empty, and an honesty verdict).</summary>
    /// <returns>A task that completes when the test has run.</returns>
    [Fact]
    public async Task Each_query_gets_a_well_formed_reply()
    {
        IBlindReader reader = CreateReader();
        try
        {
            IReadOnlyList<BlindReaderQuery> queries = CreateQueries();
            queries.Count.Should().BeGreaterThanOrEqualTo(2, "the contract tests need at least two queries");

            for (int i = 0; i < queries.Count; i++)
            {
                AssertWellFormed(await ReadAsync(reader, queries[i]), $"query {i} ({queries[i].Question})");
            }
        }
        finally
        {
            (reader as IDisposable)?.Dispose();
        }
    }

    /// <summary>A <see langword="null"/> query throws <see cref="ArgumentNullException"/> naming <c>query</c>.</summary>
    /// <returns>A task that completes when the test has run.</returns>
    [Fact]
    public async Task Null_query_throws_ArgumentNullException()
    {
        IBlindReader reader = CreateReader();
        try
        {
            Func<Task> act = () => reader.ReadAsync(null!);

            (await act.Should().ThrowAsync<ArgumentNullException>()).Which.ParamName.Should().Be("query");
        }
        finally
        {
            (reader as IDisposable)?.Dispose();
        }
    }

    /// <summary>A cancelled token throws <see cref="OperationCanceledException"/>, not <see cref="BlindReaderException"/>.</summary>
    /// <returns>A task that completes when the test has run.</returns>
    [Fact]
    public async Task Cancelled_token_throws_OperationCanceledException()
    {
        IBlindReader reader = CreateReader();
        try
        {
            using var cts = new CancellationTokenSource();
            await cts.CancelAsync();

            Func<Task> act = () => ReadAsync(reader, CreateQueries()[0], cts.Token);

            await act.Should().ThrowAsync<OperationCanceledException>();
        }
        finally
        {
            (reader as IDisposable)?.Dispose();
        }
    }

    /// <summary>Concurrent callers get well-formed replies that agree with a single call.</summary>
    /// <returns>A task that completes when the test has run.</returns>
    [Fact]
    public async Task Concurrent_calls_are_safe()
    {
        IBlindReader reader = CreateReader();
        try
        {
            IReadOnlyList<BlindReaderQuery> queries = CreateQueries();
            var reference = new BlindReaderReply[queries.Count];
            for (int i = 0; i < queries.Count; i++)
            {
                reference[i] = await ReadAsync(reader, queries[i]);
            }

            Task<BlindReaderReply[]>[] calls = Enumerable.Range(0, ConcurrentCallers)
                .Select(_ => Task.Run(() => Task.WhenAll(queries.Select(q => ReadAsync(reader, q)))))
                .ToArray();
            BlindReaderReply[][] all = await Task.WhenAll(calls);

            foreach (BlindReaderReply[] replies in all)
            {
                replies.Should().HaveCount(queries.Count);
                for (int i = 0; i < replies.Length; i++)
                {
                    AssertWellFormed(replies[i], $"query {i} read concurrently");
                    if (IsDeterministic)
                    {
                        replies[i].Answer.Should().Be(reference[i].Answer, $"query {i} read concurrently and alone must agree");
                        replies[i].IsHonest.Should().Be(reference[i].IsHonest, $"query {i} read concurrently and alone must agree");
                    }
                }
            }
        }
        finally
        {
            (reader as IDisposable)?.Dispose();
        }
    }
}
