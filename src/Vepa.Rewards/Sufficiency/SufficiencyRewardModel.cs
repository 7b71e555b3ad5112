using System.Globalization;

namespace Vepa.Rewards;

/// <summary>The VEPA sufficiency reward: a blind reader answers the question from the evidence alone; the evidence is rewarded when that answer is right.</summary>
/// <remarks>
/// <para>Per request the reader is called once with the question, the evidence and the choices. Then
/// s = 1 when <see cref="AnswerMatcher"/> accepts the reader's answer for the gold answer (else 0), h = 1 when the reader judged the
/// evidence honest (else 0), and γ is the <see cref="RepetitionPenalty"/> of the evidence (<see cref="RepetitionPenalty.Measure"/>). The reward is R = s · h · γ
/// (<see cref="SufficiencyRewardFormula.Multiplicative"/>, the default) or the signed appendix variant
/// (<see cref="SufficiencyRewardFormula.Signed"/>). Each scored result reports the components "s", "h", "gamma" and
/// "repetition_ratio" and the annotations "reader_answer", "match_kind" and, when the reader returned one, "reader_raw_text"
/// (see <see cref="RewardComponentNames"/> and <see cref="SufficiencyRewardKeys"/>).</para>
/// <para>Empty evidence (white space, zero-width, control or other invisible characters only) is legal and not sufficient: the reader is
/// not called and the result is scored with s = 0, h = 1, γ = 1, so R = 0 under both formulas, with the annotation "reader_skipped".</para>
/// <para>Failures are classified by <see cref="RewardFailureKind"/>. A failure the evidence caused (over <see cref="SufficiencyRewardOptions.MaxEvidenceCharacters"/>
/// or <see cref="SufficiencyRewardOptions.MaxEvidenceTokens"/>, over the reader's context, a malformed, ambiguous, truncated or filtered reply)
/// is scored as a penalty (<see cref="RewardResult.Penalized"/>, <see cref="SufficiencyRewardOptions.EvidenceFailureReward"/>, by default the
/// formula's minimum) with the annotation "penalty": failing is never better than answering. Infrastructure and configuration failures are
/// <see cref="RewardResult.Failed(RewardFailure, IReadOnlyDictionary{string, string}?)"/> (NaN): a <see cref="BlindReaderException"/> keeps its
/// <see cref="BlindReaderException.Kind"/> and <see cref="BlindReaderException.IsTransient"/>; any other exception from the reader becomes an
/// infrastructure failure whose reason names the exception type (never its message), transient for <see cref="HttpRequestException"/>,
/// <see cref="TimeoutException"/>, <see cref="IOException"/> and an <see cref="OperationCanceledException"/> the caller did not ask for.
/// Cancelling the caller's token throws <see cref="OperationCanceledException"/>. See docs/rewards.md.</para>
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
        var timedOut = new List<int>();
        int read = 0;
        for (int i = 0; i < requests.Count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            (results[i], ReadOutcome outcome) = await ScoreOneAsync(requests[i], cancellationToken).ConfigureAwait(false);
            if (outcome == ReadOutcome.TimedOut)
            {
                timedOut.Add(i);
            }
            else if (outcome == ReadOutcome.Read)
            {
                read++;
            }
        }

        // A read that times out while the endpoint answers the rest of the batch is tried again; when it times out every time, the
        // evidence is what the reader cannot finish, and it is charged for it. With no reply in the whole batch, the endpoint is at fault.
        for (int attempt = 2; attempt <= _options.ReaderTimeoutAttempts && timedOut.Count > 0 && read > 0; attempt++)
        {
            var still = new List<int>();
            foreach (int i in timedOut)
            {
                cancellationToken.ThrowIfCancellationRequested();
                (results[i], ReadOutcome outcome) = await ScoreOneAsync(requests[i], cancellationToken).ConfigureAwait(false);
                if (outcome == ReadOutcome.TimedOut)
                {
                    still.Add(i);
                }
            }

            timedOut = still;
        }

        if (read > 0)
        {
            foreach (int i in timedOut)
            {
                RewardFailure timeout = results[i].Failure!;
                string reason = string.Create(
                    CultureInfo.InvariantCulture,
                    $"The reader timed out on this evidence in each of {_options.ReaderTimeoutAttempts} attempts while it answered {read} other item(s) of the batch: the evidence is charged for the timeout. Last failure: {timeout.Reason}");
                results[i] = RewardResult.Penalized(
                    EvidenceFailureReward,
                    new RewardFailure(reason, IsTransient: false, timeout.Exception, RewardFailureKind.Evidence),
                    results[i].Components.Count > 0 ? results[i].Components : Components(0, 1, 1, 0),
                    new Dictionary<string, string> { [SufficiencyRewardKeys.Penalty] = reason });
            }
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

    private async Task<(RewardResult Result, ReadOutcome Outcome)> ScoreOneAsync(RewardRequest request, CancellationToken cancellationToken)
    {
        string evidence = request.Evidence;
        if (EvidenceChecks.IsBlank(evidence))
        {
            return (RewardResult.Scored(
                0.0,
                Components(s: 0, h: 1, gamma: 1, ratio: 0),
                new Dictionary<string, string> { [SufficiencyRewardKeys.ReaderSkipped] = "empty evidence" }), ReadOutcome.NotRead);
        }

        double ratio = RepetitionPenalty.Measure(evidence, _options.RepetitionNGramSize, _options.Repetition);
        double gamma = RepetitionPenalty.Gamma(ratio, _options.RepetitionThreshold, _options.RepetitionFloor);
        if (_options.Repetition.LengthPenaltyWords is int lengthLimit)
        {
            int words = RepetitionPenalty.CountWords(evidence);
            if (words > lengthLimit)
            {
                gamma = Math.Max(_options.RepetitionFloor, gamma * lengthLimit / words);
            }
        }

        int length = evidence.Length;
        if (length <= _options.MaxEvidenceCharacters)
        {
            // The cap also holds for the text as the reader understands it: NFKC and decoding can make it longer than it was written.
            length = Math.Max(length, EvidenceNeutralizer.Normalize(evidence).Length);
        }

        if (length > _options.MaxEvidenceCharacters)
        {
            return (Penalty(
                string.Create(CultureInfo.InvariantCulture, $"The evidence has {length} characters (as written or once normalised), over the cap of {_options.MaxEvidenceCharacters}; the reader was not called."),
                gamma,
                ratio,
                skipped: "evidence over the cap"), ReadOutcome.NotRead);
        }

        if (_options.MaxEvidenceTokens is int maxTokens)
        {
            int tokens = _options.EvidenceTokenCounter!(evidence);
            if (tokens > maxTokens)
            {
                return (Penalty(
                    string.Create(CultureInfo.InvariantCulture, $"The evidence has {tokens} tokens, over the cap of {maxTokens}; the reader was not called."),
                    gamma,
                    ratio,
                    skipped: "evidence over the cap"), ReadOutcome.NotRead);
            }
        }

        (BlindReaderReply? reply, RewardFailure? failure) = await BlindReaderCall
            .TryReadAsync(_reader, new BlindReaderQuery(request.Question, evidence, request.Choices), cancellationToken)
            .ConfigureAwait(false);
        if (failure is not null)
        {
            return failure.Kind == RewardFailureKind.Evidence
                ? (RewardResult.Penalized(EvidenceFailureReward, failure, Components(0, 1, gamma, ratio), new Dictionary<string, string> { [SufficiencyRewardKeys.Penalty] = failure.Reason }), IsReaderReply(failure) ? ReadOutcome.Read : ReadOutcome.NotRead)
                : (RewardResult.Failed(failure), IsTimeout(failure) ? ReadOutcome.TimedOut : ReadOutcome.NotRead);
        }

        AnswerMatch match = _matcher.Match(reply!.Answer, request.GoldAnswer, request.Choices);
        double s = match.IsMatch ? 1 : 0;
        double h = reply.IsHonest ? 1 : 0;
        double reward = _options.Formula == SufficiencyRewardFormula.Signed
            ? SignedReward(match.IsMatch, reply.IsHonest, gamma)
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

        return (RewardResult.Scored(reward, Components(s, h, gamma, ratio), annotations), ReadOutcome.Read);
    }

    /// <summary>Gets whether a failure is a timeout of the read: a transient infrastructure failure caused by a <see cref="TimeoutException"/>
    /// or by a cancellation the caller did not ask for (a client or HTTP timeout).</summary>
    private static bool IsTimeout(RewardFailure failure)
    {
        if (failure.Kind != RewardFailureKind.Infrastructure || !failure.IsTransient)
        {
            return false;
        }

        for (Exception? e = failure.Exception; e is not null; e = e.InnerException)
        {
            if (e is TimeoutException or OperationCanceledException)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Gets whether an evidence failure came from a reply of the reader (a malformed one), not from a rejected request.</summary>
    private static bool IsReaderReply(RewardFailure failure) => failure.Exception is BlindReaderException { InnerException: null };

    /// <summary>Gets the reward of evidence that made the reader fail: the configured value, or the formula's minimum.</summary>
    private double EvidenceFailureReward => _options.EvidenceFailureReward
        ?? (_options.Formula == SufficiencyRewardFormula.Signed ? Math.Min(0, Math.Min(_options.SignedCheatingReward, -_options.SignedRepetitionPenalty)) : 0.0);

    private RewardResult Penalty(string reason, double gamma, double ratio, string skipped) => RewardResult.Penalized(
        EvidenceFailureReward,
        new RewardFailure(reason, IsTransient: false, Kind: RewardFailureKind.Evidence),
        Components(0, 1, gamma, ratio),
        new Dictionary<string, string> { [SufficiencyRewardKeys.Penalty] = reason, [SufficiencyRewardKeys.ReaderSkipped] = skipped });

    private double SignedReward(bool sufficient, bool honest, double gamma)
    {
        if (!honest)
        {
            return _options.SignedCheatingReward;
        }

        double reward = sufficient ? _options.SignedCorrectReward : 0.0;
        return gamma < 1 ? reward - _options.SignedRepetitionPenalty : reward;
    }

    private static Dictionary<string, double> Components(double s, double h, double gamma, double ratio) => new()
    {
        [RewardComponentNames.Sufficiency] = s,
        [RewardComponentNames.Honesty] = h,
        [RewardComponentNames.Repetition] = gamma,
        [SufficiencyRewardKeys.RepetitionRatio] = ratio,
    };

    /// <summary>What scoring one item did with the reader.</summary>
    private enum ReadOutcome
    {
        /// <summary>The reader was not asked, or the request was rejected.</summary>
        NotRead,

        /// <summary>The reader answered (its reply may still be malformed).</summary>
        Read,

        /// <summary>The read timed out.</summary>
        TimedOut,
    }
}
