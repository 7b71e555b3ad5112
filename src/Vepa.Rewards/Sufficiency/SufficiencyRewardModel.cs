using System.Diagnostics;
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
/// <c>UseConcurrencyLimit</c> stage. The model's only mutable state is the time of the reader's last reply (used to attribute timeouts,
/// see <see cref="SufficiencyRewardOptions.ReaderTimeoutAttempts"/>); it is safe to call from several threads at once.
/// It does not own the reader: disposing the model does not dispose the reader.</para>
/// </remarks>
public sealed class SufficiencyRewardModel : IRewardModel
{
    private readonly IBlindReader _reader;
    private readonly SufficiencyRewardOptions _options;
    private readonly AnswerMatcher _matcher;
    private volatile bool _disposed;

    /// <summary>When the reader last answered a request of this model (<see cref="Stopwatch.GetTimestamp"/>); read to attribute timeouts.</summary>
    private long _lastReplyTimestamp;

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
        var timedOut = new List<(int Index, long Started)>();
        int read = 0;
        for (int i = 0; i < requests.Count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            long started = Stopwatch.GetTimestamp();
            (results[i], ReadOutcome outcome) = await ScoreOneAsync(requests[i], cancellationToken).ConfigureAwait(false);

            // A read that times out is tried again (ReaderTimeoutAttempts in all) before anything is decided.
            for (int attempt = 2; attempt <= _options.ReaderTimeoutAttempts && outcome == ReadOutcome.TimedOut; attempt++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                (results[i], outcome) = await ScoreOneAsync(requests[i], cancellationToken).ConfigureAwait(false);
            }

            if (outcome == ReadOutcome.TimedOut)
            {
                timedOut.Add((i, started));
            }
            else if (outcome == ReadOutcome.Read)
            {
                read++;
            }
        }

        // A read that timed out on every attempt while the reader answered other requests (of this batch, or of any call of this model
        // since the first attempt began) is charged to the evidence: the endpoint answers, this evidence is what it cannot finish. With no
        // reply anywhere, the endpoint is at fault and the timeout stays a transient infrastructure failure.
        foreach ((int i, long started) in timedOut)
        {
            bool answeredMeanwhile = Interlocked.Read(ref _lastReplyTimestamp) > started;
            if (read == 0 && !answeredMeanwhile)
            {
                continue;
            }

            RewardFailure timeout = results[i].Failure!;
            string reason = string.Create(
                CultureInfo.InvariantCulture,
                $"The reader timed out on this evidence in each of {_options.ReaderTimeoutAttempts} attempts while it answered other requests: the evidence is charged for the timeout. Last failure: {timeout.Reason}");
            results[i] = RewardResult.Penalized(
                EvidenceFailureReward,
                new RewardFailure(reason, IsTransient: false, timeout.Exception, RewardFailureKind.Evidence),
                results[i].Components.Count > 0 ? results[i].Components : Components(0, 1, 1, 0),
                new Dictionary<string, string> { [SufficiencyRewardKeys.Penalty] = reason });
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

        // The text as the reader will understand it (decoded, NFKC); not formed for text already over the cap as written.
        string? normalized = evidence.Length <= _options.MaxEvidenceCharacters ? EvidenceNeutralizer.Normalize(evidence) : null;
        if (EvidenceChecks.IsBlank(evidence) || (normalized is not null && EvidenceChecks.IsBlank(normalized)))
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

        // The cap also holds for the text as the reader understands it: NFKC and decoding can make it longer than it was written.
        int length = Math.Max(evidence.Length, normalized?.Length ?? 0);

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
            // As the character cap: the text as written and as the reader gets it (NFKC can turn one character into many).
            int tokens = _options.EvidenceTokenCounter!(evidence);
            if (normalized is not null && !string.Equals(normalized, evidence, StringComparison.Ordinal))
            {
                tokens = Math.Max(tokens, _options.EvidenceTokenCounter(normalized));
            }

            if (tokens > maxTokens)
            {
                return (Penalty(
                    string.Create(CultureInfo.InvariantCulture, $"The evidence has {tokens} tokens (as written or once normalised), over the cap of {maxTokens}; the reader was not called."),
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
            if (IsReaderReply(failure))
            {
                // A malformed or refused reply is still the reader answering: it counts for the timeout rule as a scored one does.
                Interlocked.Exchange(ref _lastReplyTimestamp, Stopwatch.GetTimestamp());
            }

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

        Interlocked.Exchange(ref _lastReplyTimestamp, Stopwatch.GetTimestamp());
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
    private static bool IsReaderReply(RewardFailure failure) => failure.Exception is BlindReaderException { IsReply: true };

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
