using System.Globalization;

namespace Vepa.Rewards;

/// <summary>Finds dataset items a blind reader answers correctly from the question (and choices) alone, with no evidence.</summary>
/// <remarks>
/// <para>The paper trains on questions with high visual dependency: an item the reader answers without seeing any evidence teaches
/// the policy nothing about the image, so drop it (<see cref="VisualDependencyResult.IsAnsweredWithoutEvidence"/>) and keep the rest
/// (<see cref="VisualDependencyResult.IsVisuallyDependent"/>).</para>
/// <para>Each item is read <see cref="VisualDependencyOptions.Samples"/> times with empty evidence; the answers are matched against
/// the gold answer with <see cref="AnswerMatcher"/>. Sampling stops early once the decision is certain. The reader's honesty verdict is
/// ignored. <see cref="RewardRequest.Evidence"/> of the items is ignored. A reader failure on any sample fails the item (never "dependent").</para>
/// <para>The filter holds no mutable state and is safe to use from several threads at once.</para>
/// </remarks>
public sealed class VisualDependencyFilter
{
    private readonly IBlindReader _reader;
    private readonly VisualDependencyOptions _options;
    private readonly AnswerMatcher _matcher;

    /// <summary>Initializes a new instance of the <see cref="VisualDependencyFilter"/> class.</summary>
    /// <param name="reader">The blind reader.</param>
    /// <param name="options">The settings; <see langword="null"/> uses the defaults. They are validated and copied.</param>
    /// <param name="matchOptions">The answer-matching settings; <see langword="null"/> uses the defaults. They are validated and copied.</param>
    /// <exception cref="ArgumentNullException"><paramref name="reader"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="options"/> or <paramref name="matchOptions"/> is invalid; the message lists every problem.</exception>
    public VisualDependencyFilter(IBlindReader reader, VisualDependencyOptions? options = null, AnswerMatchOptions? matchOptions = null)
    {
        ArgumentNullException.ThrowIfNull(reader);
        options ??= new VisualDependencyOptions();
        VisualDependencyOptionsValidator.ThrowIfInvalid(options, nameof(options));
        if (matchOptions is not null)
        {
            AnswerMatchOptionsValidator.ThrowIfInvalid(matchOptions, nameof(matchOptions));
        }

        _reader = reader;
        _options = options.Clone();
        _matcher = new AnswerMatcher(matchOptions);
    }

    /// <summary>Asks the reader each item's question without evidence and reports whether it answered correctly.</summary>
    /// <param name="items">The items (question, gold answer, choices); their evidence is ignored.</param>
    /// <param name="cancellationToken">A token that cancels the whole evaluation.</param>
    /// <returns>One result per item, in item order.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="items"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">An element of <paramref name="items"/> is <see langword="null"/>.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<IReadOnlyList<VisualDependencyResult>> EvaluateAsync(IReadOnlyList<RewardRequest> items, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(items);
        for (int i = 0; i < items.Count; i++)
        {
            if (items[i] is null)
            {
                throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"items[{i}] is null; every item must be set."), nameof(items));
            }
        }

        cancellationToken.ThrowIfCancellationRequested();
        var results = new VisualDependencyResult[items.Count];
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = _options.MaxConcurrency, CancellationToken = cancellationToken };
        await Parallel.ForEachAsync(
            Enumerable.Range(0, items.Count),
            parallel,
            async (i, token) => results[i] = await EvaluateOneAsync(items[i], token).ConfigureAwait(false)).ConfigureAwait(false);
        return results;
    }

    private async Task<VisualDependencyResult> EvaluateOneAsync(RewardRequest item, CancellationToken cancellationToken)
    {
        var query = new BlindReaderQuery(item.Question, string.Empty, item.Choices);
        var answers = new List<string>(_options.Samples);
        int correct = 0;
        for (int k = 0; k < _options.Samples; k++)
        {
            (BlindReaderReply? reply, RewardFailure? failure) = await BlindReaderCall.TryReadAsync(_reader, query, cancellationToken).ConfigureAwait(false);
            if (failure is not null)
            {
                return new VisualDependencyResult(item, correct, answers, answeredWithoutEvidence: false, failure);
            }

            answers.Add(reply!.Answer);
            if (_matcher.IsMatch(reply.Answer, item.GoldAnswer, item.Choices))
            {
                correct++;
            }

            int remaining = _options.Samples - k - 1;
            if (correct >= _options.MinCorrectSamples || correct + remaining < _options.MinCorrectSamples)
            {
                break;
            }
        }

        return new VisualDependencyResult(item, correct, answers, correct >= _options.MinCorrectSamples, failure: null);
    }
}
