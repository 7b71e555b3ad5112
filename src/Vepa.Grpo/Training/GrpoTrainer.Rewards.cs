namespace Vepa.Grpo;

/// <summary>Reward composition: several weighted reward models scored at the same time, plus DAPO's overlong penalty.</summary>
public sealed partial class GrpoTrainer
{
    /// <summary>The component name of the reward model given to the single-model constructor.</summary>
    internal const string SingleRewardName = "reward";

    private static RewardComponent[] SingleComponent(IRewardModel rewardModel)
    {
        ArgumentNullException.ThrowIfNull(rewardModel);
        return [new RewardComponent(SingleRewardName, rewardModel)];
    }

    private static RewardComponent[] CheckComponents(IReadOnlyList<RewardComponent> rewardComponents, GrpoTrainerOptions options)
    {
        ArgumentNullException.ThrowIfNull(rewardComponents);
        if (rewardComponents.Count == 0)
        {
            throw new ArgumentException("A trainer needs at least one reward component; got none.", nameof(rewardComponents));
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        for (int k = 0; k < rewardComponents.Count; k++)
        {
            var component = rewardComponents[k] ?? throw new ArgumentException($"rewardComponents[{k}] is null.", nameof(rewardComponents));
            if (!names.Add(component.Name))
            {
                throw new ArgumentException($"Reward component names must be unique; '{component.Name}' appears twice (rewardComponents[{k}]).", nameof(rewardComponents));
            }

            if (options.OverlongBufferLength > 0 && component.Name == OverlongPenalty.ComponentName)
            {
                throw new ArgumentException(
                    $"rewardComponents[{k}] is named '{OverlongPenalty.ComponentName}', the name of the overlong penalty component that OverlongBufferLength = {options.OverlongBufferLength} adds; rename it.",
                    nameof(rewardComponents));
            }
        }

        return rewardComponents.ToArray();
    }

    /// <summary>
    /// Scores a batch with every component at the same time (each model in its own task, so a model that works synchronously
    /// before its first await does not hold the others back) and adds the overlong penalty when it is on.
    /// </summary>
    private async Task<StepScores> ScoreAsync(RolloutBatch batch, int step, CancellationToken cancellationToken)
    {
        var requests = _options.RewardRequestFactory is { } factory ? batch.ToRewardRequests(factory) : batch.ToRewardRequests();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (_options.RewardTimeout is TimeSpan limit)
        {
            timeout.CancelAfter(limit);
        }

        // Cancelled when a component's error stops the step: the others' results no longer matter.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token);
        var scoring = new Scoring(requests, step, timeout, stop, cancellationToken);

        IReadOnlyList<RewardResult>[] results;
        if (_components.Length == 1)
        {
            results = [await ScoreComponentAsync(_components[0], scoring).ConfigureAwait(false)];
        }
        else
        {
            var tasks = _components.Select(c => Task.Run(() => ScoreComponentAsync(c, scoring), CancellationToken.None)).ToArray();
            results = await Task.WhenAll(tasks).ConfigureAwait(false);
        }

        var names = _components.Select(c => c.Name).ToList();
        var weights = _components.Select(c => c.Weight).ToList();
        if (_options.OverlongBufferLength > 0)
        {
            names.Add(OverlongPenalty.ComponentName);
            weights.Add(1.0);
            results = [.. results, OverlongPenalty.Score(batch, _options.Sampling.MaxNewTokens, _options.OverlongBufferLength, _options.OverlongPenaltyFactor)];
        }

        return StepScores.From([.. names], [.. weights], results);
    }

    /// <summary>One component's results: all failed when its model throws or the step's scoring time runs out.</summary>
    private async Task<IReadOnlyList<RewardResult>> ScoreComponentAsync(RewardComponent component, Scoring scoring)
    {
        var (requests, step, timeout, stop, cancellationToken) = scoring;
        IReadOnlyList<RewardResult>? results;
        try
        {
            results = await component.Model.ScoreAsync(requests, stop.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested && !timeout.IsCancellationRequested)
        {
            // Another component's error stops the step and is what the caller sees; these results are never used.
            return StepScores.AllFailed(requests.Count, "cancelled: another reward component stopped the step");
        }
        catch (OperationCanceledException e) when (timeout.IsCancellationRequested)
        {
            string reason = $"reward scoring timed out after {_options.RewardTimeout}";
            GrpoTrainerLog.RewardBatchFailed(_logger, step, requests.Count, Described(component, reason), e);
            return StepScores.AllFailed(requests.Count, reason);
        }
        catch (Exception e) when (e is RewardConfigurationException or RewardContractException)
        {
            // A misconfigured reward pipeline (401, wrong model, ...) or one that broke its contract (wrong result count,
            // null) must stop training loudly: scoring the batch as failed would silently train on nothing. The other
            // components are cancelled: their results no longer matter.
            await stop.CancelAsync().ConfigureAwait(false);
            throw;
        }
        catch (Exception e)
        {
            // Exceptions of the host's own reward code are logged with their message; those that may quote a server's
            // response or echoed credentials (HTTP and SDK clients) name their type only. The reason reaches the step
            // record, the logs and the step log.
            string reason = RewardExceptionText.Describe(e);
            GrpoTrainerLog.RewardBatchFailed(_logger, step, requests.Count, Described(component, reason), RewardExceptionText.MayCarryServerText(e) ? null : e);
            return StepScores.AllFailed(requests.Count, reason);
        }

        try
        {
            RewardContractException.ThrowIfBroken(results, requests.Count, _components.Length == 1 ? "the GRPO trainer" : $"the GRPO trainer (reward component '{component.Name}')");
        }
        catch (RewardContractException)
        {
            await stop.CancelAsync().ConfigureAwait(false);
            throw;
        }

        return results!;
    }

    private string Described(RewardComponent component, string reason) => _components.Length == 1 ? reason : $"{component.Name}: {reason}";

    /// <summary>What every component of one scoring shares: the requests, the step (for the logs) and the cancellation sources.</summary>
    private sealed record Scoring(
        IReadOnlyList<RewardRequest> Requests, int Step, CancellationTokenSource Timeout, CancellationTokenSource Stop, CancellationToken CancellationToken);
}
