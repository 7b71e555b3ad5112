using TorchSharp;
using static TorchSharp.torch;

namespace Vepa.Grpo;

// Weight versions, weight sync with a sampler that holds its own weights, the automatic sampler-mismatch correction, and
// overlapped (one-step off-policy) generation. docs/trainer.md, "Weight versions, sync and overlapped generation", has the why.
public sealed partial class GrpoTrainer
{
    // The version the sampler's own weights hold: 0 at a fresh start (an engine starts from the policy's initial weights),
    // −1 after a resume (unknown, so the first step syncs).
    private long _samplerVersion;

    // The current step's rollouts: the version they were sampled under, the updates they lag behind, and for a batch sampled
    // ahead from a copy of the weights, that copy's log-probs (the behaviour policy's), owned here until the step ends.
    private long _rolloutVersion;
    private long _rolloutLag;
    private Tensor? _behaviourLogProbs;

    private Prefetch? _prefetch;
    private IPolicy? _snapshot;
    private PolicyLossOptions? _autoCorrectedLoss;
    private bool _warnedNoSynchronizer;

    /// <summary>Gets the policy's weight version: the optimizer updates applied to it so far (equal to <see cref="OptimizerUpdates"/>;
    /// a skipped non-finite update counts although it leaves the weights as they were). Checkpoints keep it.</summary>
    public long WeightVersion => _updates;

    private IWeightSynchronizer? Synchronizer => _sampler.GetService(typeof(IWeightSynchronizer)) as IWeightSynchronizer;

    private bool SamplesRemotely => (_sampler.GetService(typeof(RolloutSamplerMetadata)) as RolloutSamplerMetadata)?.SamplesRemotely == true;

    /// <summary>Whether the sampler samples from its own copy of the weights (remote, or kept in sync) rather than from the policy's.</summary>
    private bool SamplerHoldsOwnWeights => SamplesRemotely || Synchronizer is not null;

    private void ThrowIfOverlapUnsupported()
    {
        if (_options.OverlapGeneration && !SamplerHoldsOwnWeights && !ReferenceEquals(_sampler, _policy.Sampler))
        {
            throw new ArgumentException(
                $"OverlapGeneration samples the next batch while the policy is updated, so the sampler must hold its own weights " +
                $"(RolloutSamplerMetadata.SamplesRemotely, or an IWeightSynchronizer) or be the policy's own sampler (then the trainer samples " +
                $"from a copy of the weights); {_sampler.GetType().Name} does neither.",
                "sampler");
        }

        if (_options.OverlapGeneration && !SamplerHoldsOwnWeights)
        {
            // The batch sampled ahead comes from a copy of the weights: made now, so a policy that cannot copy itself fails here, not at step 1.
            var copy = _policy.CreateReference();
            if (copy.GetState().Count == 0)
            {
                copy.Dispose();
                throw new ArgumentException(
                    "OverlapGeneration with the policy's own sampler samples from a copy of the weights, and this policy's CreateReference() has no " +
                    "weights of its own (a LoRA policy's reference is its base model with the adapters off). Use an engine sampler, or turn OverlapGeneration off.",
                    "options");
            }

            _snapshot = copy;
        }
    }

    /// <summary>The rollouts of a step: taken from the batch sampled ahead for it, or sampled now; then, with an upcoming batch, starts sampling that one.</summary>
    private async Task<RolloutBatch> TakeRolloutsAsync(
        IReadOnlyList<PolicyPrompt> prompts, IReadOnlyList<PolicyPrompt>? upcoming, int step, CancellationToken cancellationToken)
    {
        Prefetched? ahead = null;
        if (_prefetch is { } pending && pending.Step == step && ReferenceEquals(pending.Prompts, prompts))
        {
            ahead = await TakePrefetchAsync(pending, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            await DrainPrefetchAsync().ConfigureAwait(false);
        }

        RolloutBatch? batch = ahead?.Batch;
        try
        {
            // The sampler is idle here (the batch sampled ahead is complete), so its weights may change.
            await SyncWeightsIfDueAsync(cancellationToken).ConfigureAwait(false);
            long version = ahead?.Version ?? (SamplerHoldsOwnWeights ? Math.Max(0, _samplerVersion) : _updates);
            batch ??= await SampleAsync(prompts, step, round: 0, cancellationToken).ConfigureAwait(false);
            if (batch.WeightVersion > _updates)
            {
                throw new InvalidOperationException(
                    $"The sampler tagged its batch with weight version {batch.WeightVersion}, but the policy has had only {_updates} optimizer updates " +
                    "(RolloutBatch.WeightVersion counts the updates applied to the weights the batch was sampled from).");
            }

            _rolloutVersion = batch.WeightVersion != 0 ? batch.WeightVersion : version;
            _rolloutLag = _updates - _rolloutVersion;
            _behaviourLogProbs = ahead?.BehaviourLogProbs;
            if (upcoming is not null)
            {
                StartPrefetch(upcoming, step + 1);
            }

            return batch;
        }
        catch
        {
            batch?.Dispose();
            ahead?.BehaviourLogProbs?.Dispose();
            _behaviourLogProbs = null;
            throw;
        }
    }

    /// <summary>Releases what the step kept of its rollouts (the behaviour log-probs of a batch sampled ahead).</summary>
    private void EndStepRollouts()
    {
        _behaviourLogProbs?.Dispose();
        _behaviourLogProbs = null;
    }

    /// <summary>The behaviour policy's log-probs of a batch sampled ahead from a copy of the weights, on <paramref name="device"/>; <see langword="null"/> otherwise.</summary>
    private Tensor? BehaviourLogProbs(Device device) => _behaviourLogProbs?.to(device);

    /// <summary>Sends the policy's weights to a sampler that holds its own copy, when <see cref="GrpoTrainerOptions.WeightSyncEvery"/> updates have passed.</summary>
    private async Task SyncWeightsIfDueAsync(CancellationToken cancellationToken)
    {
        if (Synchronizer is not { } synchronizer)
        {
            if (!_warnedNoSynchronizer && SamplesRemotely)
            {
                _warnedNoSynchronizer = true;
                GrpoTrainerLog.NoWeightSynchronizer(_logger);
            }

            return;
        }

        long version = _updates;
        if (version == _samplerVersion || (_samplerVersion >= 0 && version - _samplerVersion < _options.WeightSyncEvery))
        {
            return;
        }

        long t0 = _timeProvider.GetTimestamp();
        try
        {
            await synchronizer.SynchronizeAsync(_policy, version, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception e)
        {
            // Never swallowed: sampling on from the old weights would train on a policy the run no longer has.
            string reason = RewardExceptionText.MayCarryServerText(e) ? e.GetType().Name : $"{e.GetType().Name}: {e.Message}";
            throw new GrpoWeightSyncException(CompletedSteps, version, reason, e);
        }

        _samplerVersion = version;
        GrpoTrainerLog.WeightsSynchronized(_logger, version, _timeProvider.GetElapsedTime(t0).TotalSeconds);
    }

    /// <summary>After a resume the sampler's weights are unknown: a synced sampler gets the checkpoint's weights at the first step.</summary>
    private void OnResumedRollouts() => _samplerVersion = Synchronizer is null ? 0 : -1;

    /// <summary>The step's loss: the configured one, or with <see cref="GrpoTrainerOptions.AutoSamplerCorrection"/> token-level truncated importance sampling for a remote sampler's batch with log-probs.</summary>
    private PolicyLossOptions EffectiveLoss(RolloutBatch batch)
    {
        var loss = _options.Loss;
        if (!_options.AutoSamplerCorrection || loss.SamplerCorrection != SamplerCorrectionMode.None || batch.SamplerLogProbs is null || !SamplesRemotely)
        {
            return loss;
        }

        if (_autoCorrectedLoss is null)
        {
            var corrected = loss.Clone();
            corrected.SamplerCorrection = SamplerCorrectionMode.Truncate;
            corrected.Validate();
            _autoCorrectedLoss = corrected;
            GrpoTrainerLog.AutoSamplerCorrection(_logger, corrected.SamplerCorrectionMax);
        }

        return _autoCorrectedLoss;
    }

    /// <summary>Adds the rollouts' version, lag and sampler mismatch to a step's record.</summary>
    private GrpoStepRecord WithRollouts(GrpoStepRecord record, PolicyLossOptions loss, SamplerMismatch? mismatch) => record with
    {
        RolloutWeightVersion = _rolloutVersion,
        WeightVersionLag = _rolloutLag,
        SamplerCorrection = loss.SamplerCorrection,
        SamplerKl = mismatch?.Kl ?? double.NaN,
        SamplerCorrectionFraction = mismatch?.OutsideFraction ?? double.NaN,
    };

    /// <summary>Starts sampling a later step's batch on the thread pool while this step is scored and trained.</summary>
    /// <remarks>A sampler with its own weights samples directly: it holds the version last synced. The policy's own sampler would
    /// read the weights the update is changing, so the batch is sampled from a copy of them (the version now), and that copy also
    /// computes its old log-probs, the behaviour policy's, before the copy is reloaded for the next batch.</remarks>
    private void StartPrefetch(IReadOnlyList<PolicyPrompt> prompts, int step)
    {
        IPolicy? snapshot = null;
        long version;
        if (SamplerHoldsOwnWeights)
        {
            version = Math.Max(0, _samplerVersion);
        }
        else
        {
            snapshot = _snapshot ??= _policy.CreateReference();
            snapshot.LoadState(_policy.GetState());
            version = _updates;
        }

        var sampler = snapshot?.Sampler ?? _sampler;
        double temperature = _options.Sampling.Temperature;
        var cancellation = new CancellationTokenSource();
        var task = Task.Run(
            async () =>
            {
                var batch = await SampleAsync(prompts, step, round: 0, cancellation.Token, sampler).ConfigureAwait(false);
                try
                {
                    return new Prefetched(batch, version, snapshot is null ? null : ComputeBehaviourLogProbs(snapshot, batch, temperature));
                }
                catch
                {
                    batch.Dispose();
                    throw;
                }
            },
            CancellationToken.None);
        _prefetch = new Prefetch(prompts, step, task, cancellation);
    }

    private static Tensor ComputeBehaviourLogProbs(IPolicy snapshot, RolloutBatch batch, double temperature)
    {
        // Runs on a pool thread: its own dispose scope and no-grad state (both are per thread).
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var logProbs = snapshot.ComputeLogProbs(batch, new PolicyLogProbOptions { Temperature = temperature }).LogProbs;
        return CheckShape(logProbs, batch.Count, batch.Length, "the behaviour log-probs").DetachFromDisposeScope();
    }

    private async Task<Prefetched> TakePrefetchAsync(Prefetch pending, CancellationToken cancellationToken)
    {
        try
        {
            var taken = await pending.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
            _prefetch = null;
            pending.Cancellation.Dispose();
            return taken;
        }
        catch when (pending.Task.IsCompleted)
        {
            // Sampling ahead failed: the step fails as an in-line sample would have.
            _prefetch = null;
            pending.Cancellation.Dispose();
            throw;
        }
    }

    /// <summary>Discards a batch sampled ahead that no step will take (training stopped, or a step came with other prompts).</summary>
    private async Task DrainPrefetchAsync()
    {
        if (_prefetch is not { } pending)
        {
            return;
        }

        _prefetch = null;
        await pending.Cancellation.CancelAsync().ConfigureAwait(false);
        try
        {
            (await pending.Task.ConfigureAwait(false)).Dispose();
            GrpoTrainerLog.PrefetchDiscarded(_logger, pending.Step, null);
        }
        catch (Exception e)
        {
            // Secondary: whatever stopped training is what the caller sees.
            GrpoTrainerLog.PrefetchDiscarded(_logger, pending.Step, e is OperationCanceledException ? null : e);
        }
        finally
        {
            pending.Cancellation.Dispose();
        }
    }

    private void DisposeRollouts()
    {
        if (_prefetch is { } pending)
        {
            _prefetch = null;
            pending.Cancellation.Cancel();
            try
            {
                pending.Task.GetAwaiter().GetResult().Dispose();
            }
            catch (Exception e)
            {
                GrpoTrainerLog.PrefetchDiscarded(_logger, pending.Step, e is OperationCanceledException ? null : e);
            }

            pending.Cancellation.Dispose();
        }

        EndStepRollouts();
        _snapshot?.Dispose();
        _snapshot = null;
    }

    /// <summary>A batch being sampled ahead for <see cref="Step"/>.</summary>
    private sealed record Prefetch(IReadOnlyList<PolicyPrompt> Prompts, int Step, Task<Prefetched> Task, CancellationTokenSource Cancellation);

    /// <summary>A batch sampled ahead, the version it was sampled under and, from a copy of the weights, that copy's log-probs.</summary>
    private sealed record Prefetched(RolloutBatch Batch, long Version, Tensor? BehaviourLogProbs) : IDisposable
    {
        public void Dispose()
        {
            Batch.Dispose();
            BehaviourLogProbs?.Dispose();
        }
    }

    /// <summary>
    /// The prompt batches of <c>TrainStreamAsync</c>, read one ahead when generation overlaps so the next step's rollouts can be
    /// sampled during this step. Disposing it discards rollouts sampled ahead that no step took, then the source enumerator.
    /// </summary>
    private sealed class StepBatches(GrpoTrainer trainer, IAsyncEnumerator<IReadOnlyList<PolicyPrompt>> source) : IAsyncDisposable
    {
        private IReadOnlyList<PolicyPrompt>? _next;
        private bool _ended;

        public IReadOnlyList<PolicyPrompt> Current { get; private set; } = [];

        public async ValueTask<bool> MoveNextAsync()
        {
            if (_next is not null)
            {
                (Current, _next) = (_next, null);
                return true;
            }

            if (_ended || !await source.MoveNextAsync().ConfigureAwait(false))
            {
                _ended = true;
                return false;
            }

            Current = source.Current;
            return true;
        }

        /// <summary>The batch after <see cref="Current"/> when generation overlaps and another step will run; otherwise <see langword="null"/>.</summary>
        public async ValueTask<IReadOnlyList<PolicyPrompt>?> UpcomingAsync()
        {
            if (!trainer._options.OverlapGeneration || trainer.CompletedSteps + 1 >= trainer._options.MaxSteps)
            {
                return null;
            }

            if (_next is null && !_ended)
            {
                if (await source.MoveNextAsync().ConfigureAwait(false))
                {
                    _next = source.Current;
                }
                else
                {
                    _ended = true;
                }
            }

            return _next;
        }

        public async ValueTask DisposeAsync()
        {
            await trainer.DrainPrefetchAsync().ConfigureAwait(false);
            await source.DisposeAsync().ConfigureAwait(false);
        }
    }
}
