using System.Globalization;

namespace Vepa.Rewards;

/// <summary>The VEPA sufficiency reward: a blind reader answers the question from the evidence alone; the evidence is rewarded when that answer is right.</summary>
/// <remarks>
/// <para>Per request the reader is called once with the question, the evidence and the choices. Then
/// s = 1 when <see cref="AnswerMatcher"/> accepts the reader's answer for the gold answer (else 0), h = 1 when the reader judged the
/// evidence honest (else 0), and γ is the <see cref="RepetitionPenalty"/> of the evidence. The reward is R = s · h · γ
/// (<see cref="SufficiencyRewardFormula.Multiplicative"/>, the default) or the signed appendix variant
/// (<see cref="SufficiencyRewardFormula.Signed"/>). Each scored result reports the components "s", "h", "gamma" and
/// "repetition_ratio" and the annotations "reader_answer", "match_kind" and, when the reader returned one, "reader_raw_text"
/// (see <see cref="RewardComponentNames"/> and <see cref="SufficiencyRewardKeys"/>).</para>
/// <para>Empty (or white-space) evidence is legal and not sufficient: the reader is not called and the result is scored with
/// s = 0, h = 1, γ = 1, so R = 0 under both formulas, with the annotation "reader_skipped".</para>
/// <para>Failures are results, never zeros: a <see cref="BlindReaderException"/> becomes <see cref="RewardResult.Failed(string, bool, Exception)"/>
/// with the exception's <see cref="BlindReaderException.IsTransient"/>; any other exception from the reader becomes a failure whose reason
/// names the exception type and message, transient for <see cref="HttpRequestException"/>, <see cref="TimeoutException"/>,
/// <see cref="IOException"/> and an <see cref="OperationCanceledException"/> the caller did not ask for (a client-side timeout).
/// Cancelling the caller's token throws <see cref="OperationCanceledException"/>.</para>
/// <para>The items of a batch are scored one after another inside this model; run batches concurrently with the pipeline's
/// <c>UseConcurrencyLimit</c> stage. The model holds no mutable state and is safe to call from several threads at once.
/// It does not own the reader: disposing the model does not dispose the reader.</para>
/// </remarks>
public sealed class SufficiencyRewardModel : IRewardModel
{
    private readonly IBlindReader _reader;
    private readonly SufficiencyRewardOptions _options;
    private readonly AnswerMatcher _matcher;
    private volatile bool _disposed;

    /// <summary>Initializes a new instance of the <see cref="SufficiencyRewardModel"/> class.</summary>
    /// <param name="reader">The blind reader.</param>
    /// <param name="options">The reward settings; <see langword="null"/> uses the defaults. They are validated and copied.</param>
    /// <param name="matchOptions">The answer-matching settings; <see langword="null"/> uses the defaults. They are validated and copied.</param>
    /// <exception cref="ArgumentNullException"><paramref name="reader"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="options"/> or <paramref name="matchOptions"/> is invalid; the message lists every problem.</exception>
    public SufficiencyRewardModel(IBlindReader reader, SufficiencyRewardOptions? options = null, AnswerMatchOptions? matchOptions = null)
    {
        ArgumentNullException.ThrowIfNull(reader);
        options ??= new SufficiencyRewardOptions();
        SufficiencyRewardOptionsValidator.ThrowIfInvalid(options, nameof(options));
        if (matchOptions is not null)
        {
            AnswerMatchOptionsValidator.ThrowIfInvalid(matchOptions, nameof(matchOptions));
        }

        _reader = reader;
        _options = options.Clone();
        _matcher = new AnswerMatcher(matchOptions);
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentException">An element of <paramref name="requests"/> is <see langword="null"/>.</exception>
    /// <exception cref="ObjectDisposedException">The model has been disposed.</exception>
    public async Task<IReadOnlyList<RewardResult>> ScoreAsync(IReadOnlyList<RewardRequest> requests, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(requests);
        ObjectDisposedException.ThrowIf(_disposed, this);
        for (int i = 0; i < requests.Count; i++)
        {
            if (requests[i] is null)
            {
                throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"requests[{i}] is null; every request must be set."), nameof(requests));
            }
        }

        cancellationToken.ThrowIfCancellationRequested();
        var results = new RewardResult[requests.Count];
        for (int i = 0; i < requests.Count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            results[i] = await ScoreOneAsync(requests[i], cancellationToken).ConfigureAwait(false);
        }

        return results;
    }

    /// <inheritdoc />
    /// <remarks>Returns this model for its own types, the reader for <see cref="IBlindReader"/> (or the reader's type), a copy of the
    /// options for <see cref="SufficiencyRewardOptions"/>, and the <see cref="AnswerMatcher"/>; <see langword="null"/> for a non-null key.</remarks>
    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey is not null)
        {
            return null;
        }

        if (serviceType.IsInstanceOfType(this))
        {
            return this;
        }

        if (serviceType.IsInstanceOfType(_reader))
        {
            return _reader;
        }

        if (serviceType == typeof(SufficiencyRewardOptions))
        {
            return _options.Clone();
        }

        return serviceType == typeof(AnswerMatcher) ? _matcher : null;
    }

    /// <summary>Marks the model disposed; later calls to <see cref="ScoreAsync"/> throw <see cref="ObjectDisposedException"/>. The reader is not disposed.</summary>
    public void Dispose() => _disposed = true;

    private async Task<RewardResult> ScoreOneAsync(RewardRequest request, CancellationToken cancellationToken)
    {
        double ratio = RepetitionPenalty.RepeatedNGramRatio(request.Evidence, _options.RepetitionNGramSize);
        double gamma = RepetitionPenalty.Gamma(ratio, _options.RepetitionThreshold, _options.RepetitionFloor);
        if (string.IsNullOrWhiteSpace(request.Evidence))
        {
            return RewardResult.Scored(
                0.0,
                Components(s: 0, h: 1, gamma: 1, ratio: 0),
                new Dictionary<string, string> { [SufficiencyRewardKeys.ReaderSkipped] = "empty evidence" });
        }

        (BlindReaderReply? reply, RewardFailure? failure) = await BlindReaderCall
            .TryReadAsync(_reader, new BlindReaderQuery(request.Question, request.Evidence, request.Choices), cancellationToken)
            .ConfigureAwait(false);
        if (failure is not null)
        {
            return RewardResult.Failed(failure);
        }

        AnswerMatch match = _matcher.Match(reply!.Answer, request.GoldAnswer, request.Choices);
        double s = match.IsMatch ? 1 : 0;
        double h = reply.IsHonest ? 1 : 0;
        double reward = _options.Formula == SufficiencyRewardFormula.Signed
            ? SignedReward(match.IsMatch, reply.IsHonest, ratio)
            : s * h * gamma;

        var annotations = new Dictionary<string, string>
        {
            [SufficiencyRewardKeys.ReaderAnswer] = reply.Answer,
            [SufficiencyRewardKeys.MatchKind] = match.Kind.ToString(),
        };
        if (reply.RawText is not null)
        {
            annotations[SufficiencyRewardKeys.ReaderRawText] = reply.RawText;
        }

        return RewardResult.Scored(reward, Components(s, h, gamma, ratio), annotations);
    }

    private double SignedReward(bool sufficient, bool honest, double ratio)
    {
        if (!honest)
        {
            return _options.SignedCheatingReward;
        }

        double reward = sufficient ? _options.SignedCorrectReward : 0.0;
        return ratio > _options.RepetitionThreshold ? reward - _options.SignedRepetitionPenalty : reward;
    }

    private static Dictionary<string, double> Components(double s, double h, double gamma, double ratio) => new()
    {
        [RewardComponentNames.Sufficiency] = s,
        [RewardComponentNames.Honesty] = h,
        [RewardComponentNames.Repetition] = gamma,
        [SufficiencyRewardKeys.RepetitionRatio] = ratio,
    };
}
