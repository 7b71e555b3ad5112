using Microsoft.Extensions.Logging;

namespace Vepa.Rewards;

/// <summary>Logs each batch: start and finish at Debug, failures at Warning (grouped by reason), requests and results at Trace.</summary>
/// <remarks>
/// Thread-safe. What is logged at which level is chosen so that nothing sensitive leaves Trace: evidence, questions and answers are
/// logged only at Trace; exceptions are logged by type name only above Trace (their messages may carry endpoints or server replies).
/// Failure reasons are logged at Warning: <see cref="RewardFailure.Reason"/> is documented as safe to log.
/// </remarks>
internal sealed partial class LoggingRewardModel : DelegatingRewardModel
{
    private readonly ILogger _logger;
    private readonly TimeProvider _timeProvider;

    public LoggingRewardModel(IRewardModel innerModel, ILogger logger, TimeProvider timeProvider)
        : base(innerModel)
    {
        ArgumentNullException.ThrowIfNull(logger);
        ArgumentNullException.ThrowIfNull(timeProvider);
        _logger = logger;
        _timeProvider = timeProvider;
    }

    public override async Task<IReadOnlyList<RewardResult>> ScoreAsync(IReadOnlyList<RewardRequest> requests, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(requests);
        if (!_logger.IsEnabled(LogLevel.Warning))
        {
            return await InnerModel.ScoreAsync(requests, cancellationToken).ConfigureAwait(false);
        }

        int count = requests.Count;
        long started = _timeProvider.GetTimestamp();
        LogBatchStarted(count);
        if (_logger.IsEnabled(LogLevel.Trace))
        {
            for (int i = 0; i < count; i++)
            {
                RewardRequest request = requests[i];
                LogRequest(i, request.Id, request.Question, request.GoldAnswer, request.Choices is null ? "none" : $"[{string.Join(" | ", request.Choices)}]", request.Evidence);
            }
        }

        IReadOnlyList<RewardResult> results;
        try
        {
            results = await InnerModel.ScoreAsync(requests, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            LogBatchCancelled(count, ElapsedMilliseconds(started));
            throw;
        }
        catch (Exception ex)
        {
            LogBatchThrew(count, ElapsedMilliseconds(started), ex.GetType().FullName);
            LogBatchThrewDetails(ex);
            throw;
        }

        RewardPipelineGuards.EnsureOneResultPerRequest(results, count, "logging");
        LogOutcome(results, ElapsedMilliseconds(started));
        return results;
    }

    private void LogOutcome(IReadOnlyList<RewardResult> results, double elapsedMilliseconds)
    {
        int failed = 0;
        Dictionary<(string Reason, bool IsTransient, RewardFailureKind Kind), (int Count, int FirstIndex)>? groups = null;
        Dictionary<string, (int Count, int FirstIndex)>? penalties = null;
        for (int i = 0; i < results.Count; i++)
        {
            if (results[i].Failure is { } failure)
            {
                failed++;
                groups ??= [];
                var key = (failure.Reason, failure.IsTransient, failure.Kind);
                groups[key] = groups.TryGetValue(key, out var group) ? (group.Count + 1, group.FirstIndex) : (1, i);
            }
            else if (results[i].PenaltyCause is { } cause)
            {
                penalties ??= [];
                penalties[cause.Reason] = penalties.TryGetValue(cause.Reason, out var group) ? (group.Count + 1, group.FirstIndex) : (1, i);
            }
        }

        LogBatchCompleted(results.Count, results.Count - failed, failed, elapsedMilliseconds);
        if (groups is not null)
        {
            foreach (var ((reason, isTransient, kind), (groupCount, firstIndex)) in groups)
            {
                string transience = isTransient ? "transient" : "permanent";
                LogFailures(groupCount, results.Count, kind == RewardFailureKind.Infrastructure ? transience : $"{transience}, {kind.ToString().ToLowerInvariant()}", firstIndex, reason);
            }
        }

        if (penalties is not null && _logger.IsEnabled(LogLevel.Debug))
        {
            foreach (var (reason, (groupCount, firstIndex)) in penalties)
            {
                LogPenalties(groupCount, results.Count, firstIndex, reason);
            }
        }

        if (_logger.IsEnabled(LogLevel.Trace))
        {
            for (int i = 0; i < results.Count; i++)
            {
                RewardResult result = results[i];
                LogResult(
                    i,
                    result.Status,
                    result.Value,
                    string.Join(", ", result.Components.Select(c => $"{c.Key}={c.Value}")),
                    string.Join(", ", result.Annotations.Select(a => $"{a.Key}={a.Value}")));
            }
        }
    }

    private double ElapsedMilliseconds(long started) => _timeProvider.GetElapsedTime(started).TotalMilliseconds;

    [LoggerMessage(EventId = 1, Level = LogLevel.Debug, Message = "Scoring {Count} reward requests.")]
    private partial void LogBatchStarted(int count);

    [LoggerMessage(EventId = 2, Level = LogLevel.Debug, Message = "Scored {Count} reward requests in {ElapsedMilliseconds} ms: {Scored} scored, {Failed} failed.")]
    private partial void LogBatchCompleted(int count, int scored, int failed, double elapsedMilliseconds);

    [LoggerMessage(EventId = 3, Level = LogLevel.Warning, Message = "{FailedCount} of {Count} reward requests failed ({Kind}; first at index {FirstIndex}): {Reason}")]
    private partial void LogFailures(int failedCount, int count, string kind, int firstIndex, string reason);

    [LoggerMessage(EventId = 9, Level = LogLevel.Debug, Message = "{PenalizedCount} of {Count} reward requests were scored as a penalty (the evidence caused the failure; first at index {FirstIndex}): {Reason}")]
    private partial void LogPenalties(int penalizedCount, int count, int firstIndex, string reason);

    [LoggerMessage(EventId = 4, Level = LogLevel.Debug, Message = "Scoring {Count} reward requests was cancelled after {ElapsedMilliseconds} ms.")]
    private partial void LogBatchCancelled(int count, double elapsedMilliseconds);

    [LoggerMessage(EventId = 5, Level = LogLevel.Error, Message = "Scoring {Count} reward requests threw {ExceptionType} after {ElapsedMilliseconds} ms.")]
    private partial void LogBatchThrew(int count, double elapsedMilliseconds, string? exceptionType);

    [LoggerMessage(EventId = 6, Level = LogLevel.Trace, Message = "Reward call exception details.")]
    private partial void LogBatchThrewDetails(Exception exception);

    [LoggerMessage(EventId = 7, Level = LogLevel.Trace, Message = "Reward request {Index} (id {Id}): question \"{Question}\", gold \"{GoldAnswer}\", choices {Choices}, evidence \"{Evidence}\".")]
    private partial void LogRequest(int index, string? id, string question, string goldAnswer, string choices, string evidence);

    [LoggerMessage(EventId = 8, Level = LogLevel.Trace, Message = "Reward result {Index}: {Status} {Value} [{Components}] [{Annotations}].")]
    private partial void LogResult(int index, RewardStatus status, double value, string components, string annotations);
}
