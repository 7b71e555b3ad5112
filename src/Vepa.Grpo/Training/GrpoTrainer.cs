using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Vepa.Grpo;

/// <summary>
/// The GRPO optimizer: one step samples G completions per prompt, scores them through any <see cref="IRewardModel"/> (or several weighted <see cref="RewardComponent"/>s), turns the
/// rewards into group-relative advantages, computes the old and reference log-probs, and runs μ passes of minibatch updates of the
/// clipped-ratio loss with AdamW.
/// </summary>
/// <remarks>
/// <para><b>Driving it.</b> Call <see cref="StepAsync"/> per batch of prompts (a host app can interleave evaluation, logging or
/// early stopping), or <see cref="TrainAsync(IAsyncEnumerable{IReadOnlyList{PolicyPrompt}}, IProgress{GrpoStepRecord}?, CancellationToken)"/>
/// over a stream of batches, which also writes checkpoints. <see cref="ResumeAsync"/> restores a checkpoint exactly.</para>
/// <para><b>Failures.</b> A rollout whose reward failed (NaN) is excluded from the statistics with advantage 0 and counted; the step
/// trains on the rest. A reward model that throws or exceeds <see cref="GrpoTrainerOptions.RewardTimeout"/> fails every rollout of the
/// step; a step whose rewards all failed completes without updating the policy, and after
/// <see cref="GrpoTrainerOptions.MaxConsecutiveFailedRewardSteps"/> of them in a row <c>TrainAsync</c> throws
/// <see cref="GrpoRewardFailureException"/>. <see cref="RewardConfigurationException"/> and <see cref="RewardContractException"/> are
/// rethrown. A non-finite gradient norm skips that optimizer step. Cancellation between phases leaves the policy at the end of the
/// previous step.</para>
/// <para><b>Ownership.</b> The trainer owns its optimizer and the reference copy; it does not own the policy, the sampler or the reward
/// model. Tensor work runs synchronously inside one dispose scope per step; no scope spans an <c>await</c>. Not thread-safe: one step at a time.</para>
/// </remarks>
public sealed partial class GrpoTrainer : IDisposable
{
    private readonly IPolicy _policy;
    private readonly IRolloutSampler _sampler;
    private readonly RewardComponent[] _components;
    private readonly GrpoTrainerOptions _options;
    private readonly ILogger _logger;
    private readonly TimeProvider _timeProvider;
    private readonly GrpoMetrics _metrics;
    private readonly Parameter[] _parameters;
    private readonly GrpoOptimizer _optimizer;
    private IPolicy? _reference;
    private string _runId = Guid.NewGuid().ToString("N");
    private int _consecutiveFailedSteps;
    private int _consecutiveNonFiniteSteps;
    private string? _lastFailureReason;
    private long _updates;
    private StepLogWriter? _stepLog;
    private bool _stepLogStarted;
    private int _busy;
    private bool _disposed;

    /// <summary>Initializes a new instance of the <see cref="GrpoTrainer"/> class.</summary>
    /// <param name="policy">The policy to train; not owned.</param>
    /// <param name="rewardModel">Scores the rollouts; not owned.</param>
    /// <param name="options">The settings (copied); <see langword="null"/> uses the VEPA defaults.</param>
    /// <param name="sampler">Where rollouts come from; <see langword="null"/> uses <see cref="IPolicy.Sampler"/>. Not owned.</param>
    /// <param name="loggerFactory">Creates the trainer's logger; <see langword="null"/> logs nothing.</param>
    /// <param name="meterFactory">Creates the "Vepa.Grpo" meter; <see langword="null"/> uses a meter the trainer owns.</param>
    /// <param name="timeProvider">Times the phases; <see langword="null"/> uses <see cref="TimeProvider.System"/>.</param>
    /// <exception cref="ArgumentNullException"><paramref name="policy"/> or <paramref name="rewardModel"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">An option is invalid (the message lists every problem), or the policy has no trainable parameters.</exception>
    public GrpoTrainer(
        IPolicy policy,
        IRewardModel rewardModel,
        GrpoTrainerOptions? options = null,
        IRolloutSampler? sampler = null,
        ILoggerFactory? loggerFactory = null,
        IMeterFactory? meterFactory = null,
        TimeProvider? timeProvider = null)
        : this(policy, SingleComponent(rewardModel), options, sampler, loggerFactory, meterFactory, timeProvider)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="GrpoTrainer"/> class over several weighted rewards (docs/trainer.md, "Several rewards").</summary>
    /// <param name="policy">The policy to train; not owned.</param>
    /// <param name="rewardComponents">The reward components, scored at the same time and combined by <see cref="AdvantageOptions.Combination"/>; names unique; the models are not owned.</param>
    /// <param name="options">The settings (copied); <see langword="null"/> uses the VEPA defaults.</param>
    /// <param name="sampler">Where rollouts come from; <see langword="null"/> uses <see cref="IPolicy.Sampler"/>. Not owned.</param>
    /// <param name="loggerFactory">Creates the trainer's logger; <see langword="null"/> logs nothing.</param>
    /// <param name="meterFactory">Creates the "Vepa.Grpo" meter; <see langword="null"/> uses a meter the trainer owns.</param>
    /// <param name="timeProvider">Times the phases; <see langword="null"/> uses <see cref="TimeProvider.System"/>.</param>
    /// <exception cref="ArgumentNullException"><paramref name="policy"/> or <paramref name="rewardComponents"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">An option is invalid (the message lists every problem), the policy has no trainable parameters,
    /// or <paramref name="rewardComponents"/> is empty, holds null, repeats a name, or uses the name "overlong" while the overlong penalty is on.</exception>
    public GrpoTrainer(
        IPolicy policy,
        IReadOnlyList<RewardComponent> rewardComponents,
        GrpoTrainerOptions? options = null,
        IRolloutSampler? sampler = null,
        ILoggerFactory? loggerFactory = null,
        IMeterFactory? meterFactory = null,
        TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(rewardComponents);
        options = options?.Clone() ?? new GrpoTrainerOptions();
        options.Validate();
        _components = CheckComponents(rewardComponents, options);
        _parameters = policy.TrainableParameters.ToArray();
        if (_parameters.Length == 0)
        {
            throw new ArgumentException("The policy has no trainable parameters (is it a frozen reference copy?).", nameof(policy));
        }

        _policy = policy;
        _sampler = sampler ?? policy.Sampler ?? throw new ArgumentException("The policy's Sampler is null and no sampler was given.", nameof(policy));
        _options = options;
        _logger = loggerFactory?.CreateLogger<GrpoTrainer>() ?? (ILogger)NullLogger.Instance;
        _timeProvider = timeProvider ?? TimeProvider.System;
        TokenIdChecks.ThrowIfOutsideVocabulary(policy, options.Sampling);
        try
        {
            // What is allocated from here on is released again if a later check fails: a trainer that was never built owns nothing.
            // The head's precision first: the copies made below (the overlap's sampling copy, the reference) take it from the policy.
            ConfigureHeadPrecision(policy, options);
            ThrowIfOverlapUnsupported();
            _metrics = new GrpoMetrics(meterFactory);
            _optimizer = GrpoOptimizer.Create(_parameters, options);
            _reference = options.Loss.Beta > 0 ? policy.CreateReference() : null;
            if (_reference is not null && options.ReferenceSyncSteps is not null && _reference.GetState().Count == 0)
            {
                throw new ArgumentException("ReferenceSyncSteps needs a reference with weights of its own; this policy's reference has none (a LoRA policy's reference is its base model with the adapters off).", nameof(options));
            }

            _stepLog = options.StepLogPath is null ? null : new StepLogWriter(options.StepLogPath);
            if (options.CheckpointDirectory is not null)
            {
                GrpoCheckpoint.CleanTemporaries(options.CheckpointDirectory);
            }
        }
        catch
        {
            _stepLog?.Dispose();
            _reference?.Dispose();
            _optimizer?.Dispose();
            _snapshot?.Dispose();
            _metrics?.Dispose();
            throw;
        }
    }

    /// <summary>Occurs after each completed step, with its record, on the thread that ran the step.</summary>
    public event EventHandler<GrpoStepRecord>? StepCompleted;

    /// <summary>Gets the number of completed steps (after <see cref="ResumeAsync"/>: the checkpoint's step).</summary>
    public int CompletedSteps { get; private set; }

    /// <summary>Gets a copy of the settings.</summary>
    public GrpoTrainerOptions Options => _options.Clone();

    /// <summary>Gets the policy being trained.</summary>
    public IPolicy Policy => _policy;

    /// <summary>Gets the frozen reference policy, or <see langword="null"/> when β = 0 (none is kept).</summary>
    public IPolicy? Reference => _reference;

    /// <summary>Gets the learning rate the next step (or, with <see cref="LearningRateScheduleUnit.OptimizerUpdate"/>, the next optimizer update) will use.</summary>
    public double NextLearningRate => LearningRates.At(_options, _options.SchedulePer == LearningRateScheduleUnit.Step ? CompletedSteps + 1 : _updates + 1);

    /// <summary>Gets the id of the run: new for a fresh trainer, the checkpoint's after <see cref="ResumeAsync"/>. Every checkpoint records it.</summary>
    public string RunId => _runId;

    /// <summary>Gets the optimizer updates taken so far by the run (skipped non-finite updates included): the schedule position with <see cref="LearningRateScheduleUnit.OptimizerUpdate"/>.</summary>
    public long OptimizerUpdates => _updates;

    /// <summary>Runs one GRPO step on a batch of prompts.</summary>
    /// <param name="prompts">The P prompts of the step; the batch has P × G rollouts.</param>
    /// <param name="cancellationToken">Cancels the step between phases (sampling, scoring); the policy is then unchanged.</param>
    /// <returns>The step's record.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="prompts"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="prompts"/> is empty or holds null, or <see cref="GrpoTrainerOptions.MiniBatchSize"/> exceeds P × G.</exception>
    /// <exception cref="InvalidOperationException">A step is already running, or the sampler, policy or reward model broke its contract (wrong row count, wrong shapes, wrong result count, missing sampler log-probs for sampler correction).</exception>
    /// <exception cref="GrpoWeightSyncException">The sampler's <see cref="IWeightSynchronizer"/> failed; nothing of the step ran.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public Task<GrpoStepRecord> StepAsync(IReadOnlyList<PolicyPrompt> prompts, CancellationToken cancellationToken = default)
        => StepCoreAsync(prompts, upcoming: null, cancellationToken);

    /// <summary>Runs one step; <paramref name="upcoming"/>, when given, is the next step's batch, sampled during this step (overlapped generation).</summary>
    private async Task<GrpoStepRecord> StepCoreAsync(IReadOnlyList<PolicyPrompt> prompts, IReadOnlyList<PolicyPrompt>? upcoming, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ValidatePrompts(prompts);
        if (Interlocked.Exchange(ref _busy, 1) == 1)
        {
            throw new InvalidOperationException("A GRPO step is already running; the trainer runs one step at a time.");
        }

        try
        {
            return await RunStepAsync(prompts, upcoming, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Volatile.Write(ref _busy, 0);
        }
    }

    /// <summary>Trains on a stream of prompt batches, one step per batch, until the stream ends or <see cref="GrpoTrainerOptions.MaxSteps"/> steps are complete.</summary>
    /// <param name="batches">The prompt batches. After <see cref="ResumeAsync"/>, start the stream at batch <see cref="CompletedSteps"/> + 1.</param>
    /// <param name="progress">Receives each step's record; <see langword="null"/> for none.</param>
    /// <param name="cancellationToken">Cancels training; a checkpoint of the last completed step is written first when <see cref="GrpoTrainerOptions.CheckpointDirectory"/> is set.</param>
    /// <returns>The records of the steps run by this call.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="batches"/> is <see langword="null"/>.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<IReadOnlyList<GrpoStepRecord>> TrainAsync(
        IAsyncEnumerable<IReadOnlyList<PolicyPrompt>> batches, IProgress<GrpoStepRecord>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(batches);
        var records = new List<GrpoStepRecord>();
        await foreach (var record in TrainStreamAsync(batches, cancellationToken).ConfigureAwait(false))
        {
            records.Add(record);
            progress?.Report(record);
        }

        return records;
    }

    /// <summary>
    /// Trains on a stream of prompt batches like <see cref="TrainAsync(IAsyncEnumerable{IReadOnlyList{PolicyPrompt}}, IProgress{GrpoStepRecord}?, CancellationToken)"/>,
    /// yielding each step's record as it completes instead of keeping them all (a record is about 400 bytes plus 16 bytes per
    /// rollout; <c>TrainAsync</c> keeps every record of the call in the list it returns).
    /// </summary>
    /// <param name="batches">The prompt batches. After <see cref="ResumeAsync"/>, start the stream at batch <see cref="CompletedSteps"/> + 1.</param>
    /// <param name="cancellationToken">Cancels training; a checkpoint of the last completed step is written first when <see cref="GrpoTrainerOptions.CheckpointDirectory"/> is set.</param>
    /// <returns>The records, one per step, in order. Checkpoints are written as in <c>TrainAsync</c>, before the record of that step is yielded.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="batches"/> is <see langword="null"/>.</exception>
    /// <exception cref="InvalidOperationException">A fresh run's <see cref="GrpoTrainerOptions.CheckpointDirectory"/> holds another run's checkpoints and <see cref="GrpoTrainerOptions.OverwriteCheckpoints"/> is not set (thrown before the first step).</exception>
    /// <exception cref="GrpoRewardFailureException"><see cref="GrpoTrainerOptions.MaxConsecutiveFailedRewardSteps"/> steps in a row had no usable reward (a checkpoint is written first).</exception>
    /// <exception cref="GrpoNonFiniteGradientException"><see cref="GrpoTrainerOptions.MaxConsecutiveNonFiniteGradientSteps"/> steps in a row skipped every update on a non-finite gradient norm (a checkpoint is written first).</exception>
    /// <exception cref="GrpoWeightSyncException">The sampler's <see cref="IWeightSynchronizer"/> failed (a checkpoint of the last completed step is written first).</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async IAsyncEnumerable<GrpoStepRecord> TrainStreamAsync(
        IAsyncEnumerable<IReadOnlyList<PolicyPrompt>> batches, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(batches);
        ObjectDisposedException.ThrowIf(_disposed, this);
        string? directory = _options.CheckpointDirectory;
        if (directory is not null)
        {
            GrpoCheckpoint.CleanTemporaries(directory);
            GrpoCheckpoint.ThrowIfForeign(directory, _runId, _options.OverwriteCheckpoints);
        }

        int lastCheckpoint = -1;
        await using var enumerator = new StepBatches(this, batches.GetAsyncEnumerator(cancellationToken));
        while (true)
        {
            GrpoStepRecord record;
            try
            {
                if (CompletedSteps >= _options.MaxSteps || !await enumerator.MoveNextAsync().ConfigureAwait(false))
                {
                    break;
                }

                record = await StepCoreAsync(enumerator.Current, await enumerator.UpcomingAsync().ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
                if (_options.CheckpointEverySteps is int every && CompletedSteps % every == 0)
                {
                    await SaveCheckpointAsync(directory!, CancellationToken.None).ConfigureAwait(false);
                    lastCheckpoint = CompletedSteps;
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                await FinalCheckpointAsync(lastCheckpoint).ConfigureAwait(false);
                throw;
            }
            catch (GrpoWeightSyncException)
            {
                await FinalCheckpointAsync(lastCheckpoint).ConfigureAwait(false);
                throw;
            }

            yield return record;
            if (_consecutiveFailedSteps >= _options.MaxConsecutiveFailedRewardSteps)
            {
                await FinalCheckpointAsync(lastCheckpoint).ConfigureAwait(false);
                throw new GrpoRewardFailureException(CompletedSteps, _consecutiveFailedSteps, _lastFailureReason);
            }

            if (_consecutiveNonFiniteSteps >= _options.MaxConsecutiveNonFiniteGradientSteps)
            {
                await FinalCheckpointAsync(lastCheckpoint).ConfigureAwait(false);
                throw new GrpoNonFiniteGradientException(CompletedSteps, _consecutiveNonFiniteSteps);
            }
        }

        await FinalCheckpointAsync(lastCheckpoint).ConfigureAwait(false);
    }

    /// <summary>Trains on a sequence of prompt batches; see <see cref="TrainAsync(IAsyncEnumerable{IReadOnlyList{PolicyPrompt}}, IProgress{GrpoStepRecord}?, CancellationToken)"/>.</summary>
    /// <param name="batches">The prompt batches.</param>
    /// <param name="progress">Receives each step's record; <see langword="null"/> for none.</param>
    /// <param name="cancellationToken">Cancels training (after writing a checkpoint when a checkpoint folder is set).</param>
    /// <returns>The records of the steps run by this call.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="batches"/> is <see langword="null"/>.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public Task<IReadOnlyList<GrpoStepRecord>> TrainAsync(
        IEnumerable<IReadOnlyList<PolicyPrompt>> batches, IProgress<GrpoStepRecord>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(batches);
        return TrainAsync(ToAsync(batches, cancellationToken), progress, cancellationToken);
    }

    /// <summary>Writes a checkpoint of the current state (policy, reference, optimizer, step, RNG, options, step-log position) atomically.</summary>
    /// <param name="directory">The checkpoint folder; the checkpoint goes to a sub-folder <c>step-NNNNNNNN</c> written under a temporary name and renamed when complete.</param>
    /// <param name="cancellationToken">Cancels before the write starts (a started write completes, so no half-written checkpoint is left).</param>
    /// <returns>The path of the checkpoint folder.</returns>
    /// <exception cref="ArgumentException"><paramref name="directory"/> is null or empty.</exception>
    /// <exception cref="InvalidOperationException">A step is running.</exception>
    /// <exception cref="IOException">The files could not be written.</exception>
    public Task<string> SaveCheckpointAsync(string directory, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        ObjectDisposedException.ThrowIf(_disposed, this);
        cancellationToken.ThrowIfCancellationRequested();
        using var rng = random.get_rng_state();
        string path = GrpoCheckpoint.Write(directory, CaptureCheckpointState(rng), _options.KeepCheckpoints, _options.OverwriteCheckpoints);
        GrpoTrainerLog.CheckpointWritten(_logger, CompletedSteps, path);
        return Task.FromResult(path);
    }

    /// <summary>Restores a checkpoint: policy, reference, optimizer state, step, RNG state and step-log position, so training continues exactly where it stopped.</summary>
    /// <param name="path">A checkpoint folder (holding <c>trainer.json</c>), or a folder of checkpoints (the newest complete one is used).</param>
    /// <param name="cancellationToken">Cancels before anything is loaded.</param>
    /// <returns>A task that completes when the state is restored.</returns>
    /// <exception cref="ArgumentException"><paramref name="path"/> is null or empty.</exception>
    /// <exception cref="InvalidOperationException">A step is running.</exception>
    /// <exception cref="FileNotFoundException">No checkpoint exists at <paramref name="path"/>.</exception>
    /// <exception cref="InvalidDataException">The checkpoint is corrupted, truncated or does not fit this policy or optimizer; the message names the file and the problem, and nothing was changed.</exception>
    public Task ResumeAsync(string path, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ObjectDisposedException.ThrowIf(_disposed, this);
        cancellationToken.ThrowIfCancellationRequested();
        if (Volatile.Read(ref _busy) == 1)
        {
            throw new InvalidOperationException("Cannot resume while a GRPO step is running.");
        }

        if (!File.Exists(Path.Combine(path, GrpoCheckpoint.MetadataFile)))
        {
            // A folder of checkpoints: put back a checkpoint a killed write left renamed away, before picking the newest.
            GrpoCheckpoint.CleanTemporaries(path);
        }

        var checkpoint = GrpoCheckpoint.Read(path, _policy, _reference, _parameters, _optimizer.TypeName);
        using (checkpoint)
        {
            var changes = ResumeOptionChanges.Between(checkpoint.SavedOptions, _options);
            var refused = changes.Where(c => c.BreaksExactness).ToArray();
            if (refused.Length > 0 && !_options.AllowResumeWithChangedOptions)
            {
                throw new InvalidOperationException(
                    $"Cannot resume {checkpoint.Directory}: these options differ from the checkpoint's and change what the run computes: " +
                    $"{string.Join("; ", refused.Select(c => c.ToString()))}. Resume with the checkpoint's values, or set GrpoTrainerOptions.AllowResumeWithChangedOptions = true." +
                    (changes.Length > refused.Length ? $" Also changed (would be applied): {string.Join("; ", changes.Where(c => !c.BreaksExactness).Select(c => c.ToString()))}." : ""));
            }

            if (changes.Length > 0)
            {
                GrpoTrainerLog.ResumedWithChangedOptions(_logger, checkpoint.Directory, string.Join("; ", changes.Select(c => c.ToString())));
            }

            ApplyCheckpoint(checkpoint);
        }

        GrpoTrainerLog.Resumed(_logger, checkpoint.Directory, CompletedSteps);
        return Task.CompletedTask;
    }

    /// <summary>
    /// Restores the newest checkpoint at <paramref name="path"/> when there is one, and otherwise leaves the trainer as it
    /// is: the start of a run that may or may not have been interrupted before.
    /// </summary>
    /// <param name="path">A checkpoint folder (holding <c>trainer.json</c>), or a folder of checkpoints (the newest complete one is used).</param>
    /// <param name="cancellationToken">Cancels before anything is loaded.</param>
    /// <returns><see langword="true"/> when a checkpoint was restored; <see langword="false"/> when <paramref name="path"/> holds none
    /// (it does not exist, or holds no <c>trainer.json</c> and no complete <c>step-NNNNNNNN</c> folder).</returns>
    /// <exception cref="ArgumentException"><paramref name="path"/> is null or empty.</exception>
    /// <exception cref="InvalidOperationException">A step is running.</exception>
    /// <exception cref="InvalidDataException">A checkpoint exists but is corrupted, truncated or does not fit this policy or optimizer:
    /// never a silent fresh start.</exception>
    public async Task<bool> TryResumeAsync(string path, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (!GrpoCheckpoint.Exists(path))
        {
            return false;
        }

        await ResumeAsync(path, cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <summary>Releases the optimizer, the reference copy and the step log (not the policy, sampler or reward model).</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _optimizer.Dispose();
        _reference?.Dispose();
        _stepLog?.Dispose();
        _metrics.Dispose();
        DisposeRollouts();
    }

    private async Task FinalCheckpointAsync(int lastCheckpoint)
    {
        if (_options.CheckpointDirectory is not null && lastCheckpoint != CompletedSteps && CompletedSteps > 0)
        {
            await SaveCheckpointAsync(_options.CheckpointDirectory, CancellationToken.None).ConfigureAwait(false);
        }
    }

    private static async IAsyncEnumerable<IReadOnlyList<PolicyPrompt>> ToAsync(
        IEnumerable<IReadOnlyList<PolicyPrompt>> batches, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        foreach (var batch in batches)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return batch;
        }

        await Task.CompletedTask.ConfigureAwait(false);
    }

    private static void ValidatePrompts(IReadOnlyList<PolicyPrompt> prompts)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        if (prompts.Count == 0)
        {
            throw new ArgumentException("A step needs at least one prompt; got 0.", nameof(prompts));
        }

        for (int i = 0; i < prompts.Count; i++)
        {
            if (prompts[i] is null)
            {
                throw new ArgumentException($"prompts[{i}] is null.", nameof(prompts));
            }
        }
    }

    private async Task<GrpoStepRecord> RunStepAsync(IReadOnlyList<PolicyPrompt> prompts, IReadOnlyList<PolicyPrompt>? upcoming, CancellationToken cancellationToken)
    {
        int groupSize = _options.GroupSize;
        int rows = prompts.Count * groupSize;
        if (_options.MiniBatchSize is int mini && mini > rows)
        {
            throw new ArgumentException($"MiniBatchSize ({mini}) is larger than the batch: {prompts.Count} prompts × G = {groupSize} = {rows} rows.", nameof(prompts));
        }

        if (_options.MicroBatchSize is int micro && _options.MiniBatchSize is null && micro > rows)
        {
            throw new ArgumentException($"MicroBatchSize ({micro}) is larger than the batch: {prompts.Count} prompts × G = {groupSize} = {rows} rows.", nameof(prompts));
        }

        int step = CompletedSteps + 1;
        long start = _timeProvider.GetTimestamp();
        var phases = new PhaseTimes();

        long t0 = _timeProvider.GetTimestamp();
        RolloutBatch batch = await TakeRolloutsAsync(prompts, upcoming, step, cancellationToken).ConfigureAwait(false);
        phases.Generation += _timeProvider.GetElapsedTime(t0);
        try
        {
            t0 = _timeProvider.GetTimestamp();
            var scores = await ScoreAsync(batch, step, cancellationToken).ConfigureAwait(false);
            phases.Reward += _timeProvider.GetElapsedTime(t0);

            int resampled = 0;
            if (_options.ZeroSignalGroups == ZeroSignalGroupHandling.Resample)
            {
                for (int round = 1; round <= _options.MaxResampleRounds; round++)
                {
                    int[] zero = ZeroSignalGroups(scores);
                    if (zero.Length == 0)
                    {
                        break;
                    }

                    t0 = _timeProvider.GetTimestamp();
                    using var again = await SampleAsync(zero.Select(p => prompts[p]).ToArray(), step, round, cancellationToken).ConfigureAwait(false);
                    phases.Generation += _timeProvider.GetElapsedTime(t0);
                    t0 = _timeProvider.GetTimestamp();
                    var againScores = await ScoreAsync(again, step, cancellationToken).ConfigureAwait(false);
                    phases.Reward += _timeProvider.GetElapsedTime(t0);
                    var merged = RolloutMerge.ReplaceGroups(batch, again, zero, _options.Sampling.PadTokenId);
                    batch.Dispose();
                    batch = merged;
                    scores = scores.ReplaceGroups(againScores, zero, groupSize);
                    resampled += zero.Length;
                }
            }

            cancellationToken.ThrowIfCancellationRequested();
            var record = Update(batch, scores, step, resampled, phases, start);
            CompletedSteps = step;
            if (record.AllRewardsFailed)
            {
                _consecutiveFailedSteps++;
                _lastFailureReason = record.RewardFailureReason;
                GrpoTrainerLog.NoUsableReward(_logger, step, _consecutiveFailedSteps, _options.MaxConsecutiveFailedRewardSteps, record.RewardFailureReason ?? "(no reason given)");
            }
            else
            {
                _consecutiveFailedSteps = 0;
            }

            // A step that tried to update and skipped every update (non-finite gradient norm) learned nothing either.
            _consecutiveNonFiniteSteps = record.OptimizerSteps == 0 && record.SkippedOptimizerSteps > 0 ? _consecutiveNonFiniteSteps + 1 : 0;

            record = WithLoggedCompletions(record, batch, scores);
            try
            {
                record = await WithDueEvaluationAsync(record, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception) when (!cancellationToken.IsCancellationRequested)
            {
                // The update is applied: the step is published (log, event, metrics) before the evaluation's error stops the run.
                Publish(record);
                throw;
            }

            Publish(record);
            return record;
        }
        finally
        {
            batch.Dispose();
            EndStepRollouts();
        }
    }

    private async Task<RolloutBatch> SampleAsync(IReadOnlyList<PolicyPrompt> prompts, int step, int round, CancellationToken cancellationToken, IRolloutSampler? sampler = null)
    {
        var sampling = _options.Sampling.Clone();
        sampling.Seed = StepSeeds.Derive(_options.Seed, step, StepSeeds.Sampling, round);
        var batch = await (sampler ?? _sampler).SampleAsync(prompts, _options.GroupSize, sampling, cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidOperationException("The sampler returned null.");
        if (batch.Count != prompts.Count * _options.GroupSize || batch.GroupSize != _options.GroupSize || batch.PromptCount != prompts.Count)
        {
            int count = batch.Count, g = batch.GroupSize;
            batch.Dispose();
            throw new InvalidOperationException(
                $"The sampler returned {count} rollouts with G = {g}; expected prompts × G = {prompts.Count} × {_options.GroupSize} = {prompts.Count * _options.GroupSize}.");
        }

        return batch;
    }

    /// <summary>The zero-signal groups of the scores, as <see cref="AdvantageResult.ZeroSignalGroups"/> defines them.</summary>
    private int[] ZeroSignalGroups(StepScores scores)
    {
        using var scope = NewDisposeScope();
        using var advantage = scores.ComputeAdvantages(_options.GroupSize, _options.Advantages);
        bool[] flags = advantage.ZeroSignalGroups.cpu().data<bool>().ToArray();
        return Enumerable.Range(0, flags.Length).Where(p => flags[p]).ToArray();
    }

    private GrpoStepRecord Update(RolloutBatch batch, StepScores scores, int step, int resampled, PhaseTimes phases, long start)
    {
        int groupSize = _options.GroupSize;
        int rows = batch.Count;
        double temperature = _options.Sampling.Temperature;
        var loss = EffectiveLoss(batch);
        using var scope = NewDisposeScope();
        var device = _parameters[0].device;

        using var advantage = scores.ComputeAdvantages(groupSize, _options.Advantages);
        double[] advantageValues = advantage.Advantages.reshape(-1).data<double>().ToArray();
        bool[] zeroSignal = advantage.ZeroSignalGroups.cpu().data<bool>().ToArray();
        var advantages = advantage.Advantages.reshape(-1).to(device);

        // A step without a usable reward does not touch the policy: with β > 0 the KL term alone would still move it, and
        // AdamW would turn that small gradient into a full learning-rate step while nothing is learned. Usable means some group
        // has two scored rewards to compare; every reward failed is the plain case, all but one per group the same in effect.
        bool allFailed = !HasComparableRewards(scores.Values, groupSize);
        bool drop = _options.ZeroSignalGroups != ZeroSignalGroupHandling.Keep;
        var active = allFailed ? [] : Enumerable.Range(0, rows).Where(r => !(drop && zeroSignal[r / groupSize])).ToArray();
        int dropped = drop ? zeroSignal.Count(z => z) : 0;

        var mask = batch.CompletionMask.to(device);
        if (_options.MaskTruncatedCompletions)
        {
            var truncated = tensor(batch.Truncated.ToArray(), device: device);
            mask = mask.logical_and(truncated.logical_not().unsqueeze(1));
        }

        // The sampler's log-probs on the trainer's device, moved once for both the correction and the mismatch metrics.
        var samplerOnDevice = batch.SamplerLogProbs?.to(device);
        var samplerLogProbs = loss.SamplerCorrection == SamplerCorrectionMode.None ? null
            : samplerOnDevice ?? throw new InvalidOperationException(
                $"Loss.SamplerCorrection is {loss.SamplerCorrection}, but the sampler reported no log-probs (RolloutBatch.SamplerLogProbs is null).");

        // Tokens per row, read once: micro-batches of a token-normalised loss are weighted by their share of the minibatch's tokens.
        long[] rowTokens = MicroBatchWeights.NeedsTokenCounts(loss.Aggregation) ? mask.sum(1, type: ScalarType.Int64).cpu().data<long>().ToArray() : [];
        int miniSize = Math.Min(_options.MiniBatchSize ?? active.Length, Math.Max(1, active.Length));
        int microSize = Math.Min(_options.MicroBatchSize ?? miniSize, miniSize);
        var plan = new MicroBatchPlan(batch, microSize, _options.MicroBatchTokenBudget);
        int miniBatches = active.Length == 0 ? 0 : (active.Length + miniSize - 1) / miniSize;
        bool needOld = _options.Iterations * miniBatches > 1 && _behaviourLogProbs is null;

        long t0 = _timeProvider.GetTimestamp();
        Tensor? old = null, reference = null;
        if (active.Length > 0 && (needOld || _reference is not null))
        {
            using var noGrad = no_grad();
            var all = new PolicyLogProbOptions { Temperature = temperature };
            if (needOld)
            {
                old = CheckShape(_policy.ComputeLogProbs(batch, all).LogProbs, rows, batch.Length, "the old log-probs");
            }

            if (_reference is not null)
            {
                reference = CheckShape(_reference.ComputeLogProbs(batch, all).LogProbs, rows, batch.Length, "the reference log-probs");
            }
        }

        phases.LogProbs += _timeProvider.GetElapsedTime(t0);
        old ??= BehaviourLogProbs(device);
        var mismatch = SamplerMismatch.For(samplerOnDevice, loss);

        t0 = _timeProvider.GetTimestamp();
        double learningRate = _options.SchedulePer == LearningRateScheduleUnit.Step ? LearningRates.At(_options, step) : LearningRates.At(_options, _updates + 1);
        _optimizer.SetLearningRate(learningRate);
        var totals = new UpdateTotals();
        GrpoUpdateStatistics? first = null, last = null;
        for (int iteration = 0; iteration < _options.Iterations && active.Length > 0; iteration++)
        {
            int[] order = _options.ShuffleMiniBatches
                ? Shuffle(active, StepSeeds.Derive(_options.Seed, step, StepSeeds.Shuffle, iteration))
                : active;
            for (int m = 0; m < order.Length; m += miniSize)
            {
                int[] minibatch = order[m..Math.Min(order.Length, m + miniSize)];
                if (_options.SchedulePer == LearningRateScheduleUnit.OptimizerUpdate)
                {
                    _optimizer.SetLearningRate(LearningRates.At(_options, _updates + 1));
                }

                _optimizer.ZeroGradients();
                var update = new UpdateTotals();
                long miniTokens = rowTokens.Length == 0 ? 0 : minibatch.Sum(r => rowTokens[r]);
                foreach (int[] microbatch in plan.Split(minibatch))
                {
                    using var microScope = NewDisposeScope();
                    bool entropy = _options.ComputeEntropy && iteration == 0;
                    bool entropyTerms = EntropyTerms.Active(loss);
                    var index = tensor(microbatch.Select(r => (long)r).ToArray(), device: device);
                    var current = plan.ComputeLogProbs(_policy, new PolicyLogProbOptions { Temperature = temperature, Rows = microbatch, ComputeEntropy = entropy || entropyTerms, EntropyGradient = loss.EntropyCoefficient > 0 });
                    var logProbs = CheckShape(current.LogProbs, microbatch.Length, batch.Length, "the policy's log-probs");
                    var microMask = mask.index_select(0, index);
                    using var result = PolicyLoss.Compute(
                        new PolicyLossInputs
                        {
                            LogProbs = logProbs,
                            OldLogProbs = old?.index_select(0, index) ?? logProbs.detach(),
                            ReferenceLogProbs = reference?.index_select(0, index),
                            SamplerLogProbs = samplerLogProbs?.index_select(0, index),
                            Advantages = advantages.index_select(0, index),
                            Mask = microMask,
                            Entropy = entropyTerms ? EntropyForLoss(current.Entropy, microbatch.Length, batch.Length, loss) : null,
                        },
                        loss);
                    long microTokens = rowTokens.Length == 0 ? 0 : microbatch.Sum(r => rowTokens[r]);
                    double weight = MicroBatchWeights.Of(loss.Aggregation, microbatch.Length, minibatch.Length, microTokens, miniTokens);
                    (result.Loss * weight).backward();
                    update.Add(result, weight, entropy && current.Entropy is not null ? MaskedSum(current.Entropy, microMask) : null);
                    mismatch?.Add(iteration, old, logProbs, index, microMask);
                }

                double norm = ClipGradients();
                _updates++;
                if (double.IsFinite(norm))
                {
                    _optimizer.Step();
                    update.AddNorm(norm);
                }
                else
                {
                    update.Skipped++;
                    GrpoTrainerLog.NonFiniteGradient(_logger, step, norm);
                }

                // Free the gradients now: they would otherwise live through the next step's generation phase.
                _optimizer.ZeroGradients();
                var statistics = update.ToStatistics(iteration, m / miniSize, norm);
                first ??= statistics;
                last = statistics;
                totals.Merge(update);
            }
        }

        if (_reference is not null && !allFailed && _options.ReferenceSyncSteps is int sync && step % sync == 0)
        {
            SyncReference(_options.ReferenceSyncMixAlpha);
        }

        phases.Update += _timeProvider.GetElapsedTime(t0);
        WarnOnceIfOversized(plan, step);
        return WithRollouts(BuildRecord(batch, scores, step, resampled, dropped, zeroSignal, advantageValues, active, learningRate, totals, phases, start) with
        {
            FirstUpdate = first,
            LastUpdate = last,
            AllRewardsFailed = allFailed,
            UpdateTokensComputed = plan.ComputedTokens,
            UpdatePaddingFraction = plan.PaddingFraction,
            EntropyBonus = totals.Updates == 0 ? 0.0 : totals.EntropyBonus / totals.Updates,
            EntropyMaskedFraction = totals.Tokens == 0 ? 0.0 : totals.TokenMean(totals.EntropyMasked),
        }, loss, mismatch);
    }

    /// <summary>Whether some group holds at least two scored (non-NaN) rewards, the least a group-relative advantage needs.</summary>
    private static bool HasComparableRewards(IReadOnlyList<double> rewards, int groupSize)
    {
        for (int start = 0; start < rewards.Count; start += groupSize)
        {
            int scored = 0;
            for (int i = start; i < start + groupSize; i++)
            {
                if (!double.IsNaN(rewards[i]) && ++scored == 2)
                {
                    return true;
                }
            }
        }

        return false;
    }

    private GrpoStepRecord BuildRecord(
        RolloutBatch batch, StepScores scores, int step, int resampled, int dropped, bool[] zeroSignal, double[] advantageValues,
        int[] active, double learningRate, UpdateTotals totals, PhaseTimes phases, long start)
    {
        var lengths = batch.CompletionLengths;
        long tokens = lengths.Sum(l => (long)l);
        var activeAdvantages = active.Select(r => advantageValues[r]).ToArray();
        var total = _timeProvider.GetElapsedTime(start);
        return new GrpoStepRecord
        {
            Step = step,
            LearningRate = learningRate,
            PromptCount = batch.PromptCount,
            RolloutCount = batch.Count,
            RewardMean = Statistics.Mean(scores.Values),
            RewardStd = Statistics.Std(scores.Values),
            RewardComponents = scores.ComponentMeans(),
            FailedRewardCount = scores.Values.Count(double.IsNaN),
            RewardFailureReason = scores.MostFrequentFailure(),
            PenalizedRewardCount = scores.PenalizedCount,
            ZeroSignalGroupFraction = (double)zeroSignal.Count(z => z) / zeroSignal.Length,
            ResampledGroupCount = resampled,
            DroppedGroupCount = dropped,
            AdvantageMean = Statistics.Mean(activeAdvantages),
            AdvantageStd = Statistics.Std(activeAdvantages),
            AdvantageMin = activeAdvantages.Length == 0 ? double.NaN : activeAdvantages.Min(),
            AdvantageMax = activeAdvantages.Length == 0 ? double.NaN : activeAdvantages.Max(),
            RolloutRewards = Array.AsReadOnly((double[])scores.Values.Clone()),
            RolloutAdvantages = Array.AsReadOnly(advantageValues),
            Loss = totals.MeanLoss,
            Kl = totals.TokenMean(totals.Kl),
            ClipFractionLow = totals.TokenMean(totals.ClipLow),
            ClipFractionHigh = totals.TokenMean(totals.ClipHigh),
            DualClipFraction = totals.TokenMean(totals.DualClip),
            MeanRatio = totals.TokenMean(totals.Ratio),
            Entropy = totals.EntropyTokens == 0 ? double.NaN : totals.Entropy / totals.EntropyTokens,
            CompletionLengthMean = lengths.Average(),
            CompletionLengthMax = lengths.Max(),
            TruncatedFraction = (double)batch.Truncated.Count(t => t) / batch.Count,
            GradNorm = totals.Norms == 0 ? double.NaN : totals.NormSum / totals.Norms,
            OptimizerSteps = totals.Norms,
            SkippedOptimizerSteps = totals.Skipped,
            CompletionTokens = tokens,
            TokensPerSecond = total > TimeSpan.Zero ? tokens / total.TotalSeconds : double.NaN,
            Timings = new GrpoStepTimings(phases.Generation, phases.Reward, phases.LogProbs, phases.Update, total),
            ComponentRewardMeans = scores.ComponentRewardMeans(),
            ComponentFailureCounts = scores.ComponentFailureCounts(),
        };
    }

    private void Publish(GrpoStepRecord record)
    {
        _metrics.Record(record);
        if (_stepLog is not null)
        {
            if (!_stepLogStarted && record.Step == 1)
            {
                // A fresh run (no resume) rewrites the log: lines of an earlier run would repeat steps 1, 2, ...
                _stepLog.TruncateTo(0);
            }

            _stepLogStarted = true;
            _stepLog.Append(record);
        }

        GrpoTrainerLog.StepCompleted(_logger, record.Step, record.RewardMean, record.RewardStd, record.FailedRewardCount, record.ZeroSignalGroupFraction,
            record.Loss, record.Kl, record.ClipFractionLow, record.ClipFractionHigh, record.Entropy, record.CompletionLengthMean, record.GradNorm,
            record.LearningRate, record.Timings.Total.TotalSeconds);
        StepCompleted?.Invoke(this, record);
    }

    private double ClipGradients()
    {
        // One scope for both paths: the gradient handles read here must not pile up in the step's scope.
        using var scope = NewDisposeScope();
        _optimizer.GatherGradients();
        if (_options.MaxGradNorm is double max)
        {
            return nn.utils.clip_grad_norm_(_optimizer.Parameters.Where(p => p.grad is not null), max, 2.0);
        }

        using var noGrad = no_grad();
        var squares = _optimizer.Parameters.Where(p => p.grad is not null).Select(p => p.grad!.to(ScalarType.Float64).square().sum()).ToArray();
        return squares.Length == 0 ? 0.0 : Math.Sqrt(stack(squares).sum().item<double>());
    }

    private void SyncReference(double alpha)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var policyState = _policy.GetState();
        var mixed = new Dictionary<string, Tensor>();
        foreach (var (name, value) in _reference!.GetState())
        {
            mixed[name] = value.is_floating_point() ? (value * (1 - alpha)) + (policyState[name].to(value.dtype, value.device) * alpha) : value;
        }

        _reference.LoadState(mixed);
    }

    private GrpoCheckpointState CaptureCheckpointState(Tensor rngState)
    {
        if (Volatile.Read(ref _busy) == 1)
        {
            throw new InvalidOperationException("Cannot write a checkpoint while a GRPO step is running.");
        }

        var adam = _optimizer.Adam?.state_dict().State.Cast<AdamW.State>().ToArray() ?? [];
        return new GrpoCheckpointState(
            CompletedSteps,
            _policy.GetState(),
            _reference?.GetState(),
            adam.Select(s => s.step).ToArray(),
            adam.Select(s => s.exp_avg).ToArray(),
            adam.Select(s => s.exp_avg_sq).ToArray(),
            rngState,
            _stepLog?.Flush(),
            _options,
            _runId,
            _updates,
            _optimizer.TypeName,
            _optimizer.Adam is null ? _optimizer.SaveState : null,
            _optimizer.Masters?.Masters);
    }

    private void ApplyCheckpoint(GrpoCheckpoint checkpoint)
    {
        if (_optimizer.Adam is null)
        {
            // A host optimizer's state is read by TorchSharp, which checks it only while loading: first, so that a state that does not
            // fit fails before the policy, the masters and the reference are overwritten.
            try
            {
                _optimizer.LoadState(checkpoint.HostOptimizerPath!);
            }
            catch (Exception e) when (e is not OperationCanceledException and not InvalidDataException)
            {
                throw new InvalidDataException(
                    $"The checkpoint's optimizer state '{checkpoint.HostOptimizerPath}' does not load into this trainer's optimizer ({e.GetType().Name}: {e.Message}); the policy was not restored.",
                    e);
            }
        }

        _policy.LoadState(checkpoint.Policy);
        RestoreMasters(checkpoint);
        if (_reference is not null)
        {
            _reference.LoadState(checkpoint.Reference!);
        }

        if (_optimizer.Adam is { } adam)
        {
            var states = adam.state_dict().State.Cast<AdamW.State>().ToArray();
            using (no_grad())
            {
                for (int i = 0; i < states.Length; i++)
                {
                    states[i].step = checkpoint.OptimizerSteps[i];
                    states[i].exp_avg.copy_(checkpoint.ExpAvg[i]);
                    states[i].exp_avg_sq.copy_(checkpoint.ExpAvgSq[i]);
                }
            }
        }

        _runId = checkpoint.RunId;
        _updates = checkpoint.Updates;
        OnResumedRollouts();
        _consecutiveFailedSteps = 0;
        _consecutiveNonFiniteSteps = 0;

        random.set_rng_state(checkpoint.RngState);
        if (_stepLog is not null)
        {
            _stepLog.TruncateTo(checkpoint.StepLogLength ?? 0);
            _stepLogStarted = true;
        }

        CompletedSteps = checkpoint.Step;
    }

    private static Tensor CheckShape(Tensor logProbs, long rows, long length, string what)
    {
        if (logProbs is null || logProbs.dim() != 2 || logProbs.shape[0] != rows || logProbs.shape[1] != length)
        {
            throw new InvalidOperationException(
                $"The policy returned {what} shaped {(logProbs is null ? "null" : $"[{string.Join(", ", logProbs.shape)}]")}; expected [rows = {rows}, T = {length}] like the rollouts' completion mask.");
        }

        return logProbs;
    }

    /// <summary>The policy's entropy for the loss's entropy terms: the right shape, and differentiable when the bonus needs its gradient.</summary>
    private static Tensor EntropyForLoss(Tensor? entropy, long rows, long length, PolicyLossOptions loss)
    {
        var checkedEntropy = CheckShape(entropy!, rows, length, "the entropy (needed by Loss.EntropyCoefficient or Loss.TopEntropyQuantile)");
        if (loss.EntropyCoefficient > 0 && !checkedEntropy.requires_grad)
        {
            throw new InvalidOperationException(
                "Loss.EntropyCoefficient > 0 needs the entropy's gradient, but the policy returned an entropy that does not require grad; return it differentiable (TokenLogProbs.FromHiddenStates/FromLogits with out entropy do) or set the coefficient to 0.");
        }

        return checkedEntropy;
    }

    private static double MaskedSum(Tensor values, Tensor mask)
    {
        using var scope = NewDisposeScope();
        return values.detach().to(ScalarType.Float64).masked_fill(mask.logical_not(), 0.0).sum().item<double>();
    }

    private static int[] Shuffle(int[] rows, long seed)
    {
        var copy = (int[])rows.Clone();
        new Random(unchecked((int)seed ^ (int)(seed >> 32))).Shuffle(copy);
        return copy;
    }
}
