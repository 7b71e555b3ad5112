using static TorchSharp.torch;

namespace Vepa.Grpo;

/// <summary>Evaluation (mean reward, pass@k) and the completions logged per step.</summary>
public sealed partial class GrpoTrainer
{
    /// <summary>Occurs after each step that logs completions (<see cref="GrpoTrainerOptions.LogCompletions"/> &gt; 0), with them, before <see cref="StepCompleted"/>, on the thread that ran the step.</summary>
    public event EventHandler<IReadOnlyList<GrpoCompletionSample>>? CompletionsLogged;

    /// <summary>
    /// Samples <paramref name="samplesPerPrompt"/> completions per prompt from the current policy, scores them with the trainer's
    /// reward components, and reports the mean reward, pass@k and the reward of each component. Nothing is trained.
    /// </summary>
    /// <param name="prompts">The evaluation prompts.</param>
    /// <param name="samplesPerPrompt">n, the samples per prompt; pass@k is reported for k = 1, 2, 4, … and n.</param>
    /// <param name="cancellationToken">Cancels the evaluation.</param>
    /// <returns>The evaluation's figures.</returns>
    /// <remarks>
    /// The samples use the training sampling settings with a seed derived from <see cref="GrpoTrainerOptions.Seed"/> and
    /// <see cref="CompletedSteps"/> (the same evaluation repeats exactly), and the global TorchSharp random state is restored
    /// afterwards: training after an evaluation is bit for bit the training without it. A pass is a reward ≥
    /// <see cref="GrpoTrainerOptions.PassThreshold"/>; see <see cref="GrpoEvaluationResult"/> for how failures and pass@k are counted.
    /// </remarks>
    /// <exception cref="ArgumentNullException"><paramref name="prompts"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="prompts"/> is empty or holds null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="samplesPerPrompt"/> is less than 1.</exception>
    /// <exception cref="InvalidOperationException">A step or evaluation is already running, or the sampler or a reward model broke its contract.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<GrpoEvaluationResult> EvaluateAsync(IReadOnlyList<PolicyPrompt> prompts, int samplesPerPrompt, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ValidatePrompts(prompts);
        ArgumentOutOfRangeException.ThrowIfLessThan(samplesPerPrompt, 1);
        if (Interlocked.Exchange(ref _busy, 1) == 1)
        {
            throw new InvalidOperationException("A GRPO step or evaluation is already running; the trainer runs one at a time.");
        }

        try
        {
            return await RunEvaluationAsync(prompts, samplesPerPrompt, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Volatile.Write(ref _busy, 0);
        }
    }

    /// <summary>Adds the logged completions to a completed step's record and raises <see cref="CompletionsLogged"/>.</summary>
    private GrpoStepRecord WithLoggedCompletions(GrpoStepRecord record, RolloutBatch batch, StepScores scores)
    {
        if (_options.LogCompletions == 0)
        {
            return record;
        }

        var samples = LoggedCompletions(record, batch, scores);
        CompletionsLogged?.Invoke(this, samples);
        return record with { Completions = samples };
    }

    /// <summary>Adds the due evaluation to a completed step's record (a cancelled evaluation is left out).</summary>
    private async Task<GrpoStepRecord> WithDueEvaluationAsync(GrpoStepRecord record, CancellationToken cancellationToken)
    {
        if (_options.EvaluateEvery > 0 && record.Step % _options.EvaluateEvery == 0)
        {
            try
            {
                var evaluation = await RunEvaluationAsync(_options.EvaluationPrompts!, _options.EvaluationSamplesPerPrompt, cancellationToken).ConfigureAwait(false);
                record = record with { Evaluation = evaluation };
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                // The step itself is complete: it is published without its evaluation, and training stops at the next phase.
            }
        }

        return record;
    }

    private GrpoCompletionSample[] LoggedCompletions(GrpoStepRecord record, RolloutBatch batch, StepScores scores)
    {
        // A seeded partial shuffle of its own: the choice repeats in a rerun and draws from no random state the training uses.
        int[] rows = Enumerable.Range(0, batch.Count).ToArray();
        int count = Math.Min(_options.LogCompletions, rows.Length);
        long seed = StepSeeds.Derive(_options.Seed, record.Step, StepSeeds.Completions, 0);
        var random = new Random(unchecked((int)seed ^ (int)(seed >> 32)));
        for (int i = 0; i < count; i++)
        {
            int j = random.Next(i, rows.Length);
            (rows[i], rows[j]) = (rows[j], rows[i]);
        }

        return rows[..count].Order().Select(row => new GrpoCompletionSample
        {
            Step = record.Step,
            Row = row,
            PromptId = batch.PromptOf(row).Id,
            Prompt = batch.PromptOf(row).Question,
            Completion = batch.Texts[row],
            Reward = scores.Values[row],
            ComponentRewards = scores.RowComponents(row),
            Advantage = record.RolloutAdvantages[row],
        }).ToArray();
    }

    private async Task<GrpoEvaluationResult> RunEvaluationAsync(IReadOnlyList<PolicyPrompt> prompts, int n, CancellationToken cancellationToken)
    {
        long start = _timeProvider.GetTimestamp();
        if (_prefetch is null)
        {
            // A sampler with weights of its own gets the updates its sync schedule has due now, which the next step would send anyway:
            // the evaluation samples the weights the schedule allows, and training sees the same sequence of syncs. While a batch is
            // being sampled ahead (OverlapGeneration) the engine's weights are left alone.
            await SyncWeightsIfDueAsync(cancellationToken).ConfigureAwait(false);
        }

        var sampling = _options.Sampling.Clone();
        sampling.Seed = StepSeeds.Derive(_options.Seed, CompletedSteps, StepSeeds.Evaluation, 0);

        // The sampler draws from its seeded generator; the global state is put back anyway, for a sampler that uses it.
        using var rng = random.get_rng_state();
        StepScores scores;
        try
        {
            using var batch = await _sampler.SampleAsync(prompts, n, sampling, cancellationToken).ConfigureAwait(false)
                ?? throw new InvalidOperationException("The sampler returned null.");
            if (batch.Count != prompts.Count * n || batch.GroupSize != n || batch.PromptCount != prompts.Count)
            {
                throw new InvalidOperationException(
                    $"The sampler returned {batch.Count} rollouts with G = {batch.GroupSize} for the evaluation; expected prompts × n = {prompts.Count} × {n} = {prompts.Count * n}.");
            }

            scores = await ScoreAsync(batch, CompletedSteps, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            random.set_rng_state(rng);
        }

        // The evaluation reward is what the host's components say, without the overlong shaping term.
        double[] rewards = scores.WeightedSums(_components.Length);

        double threshold = _options.PassThreshold;
        var passAtK = new SortedDictionary<int, double>();
        foreach (int k in PassAtK.Ks(n))
        {
            double sum = 0;
            int counted = 0;
            for (int p = 0; p < prompts.Count; p++)
            {
                var group = rewards.AsSpan(p * n, n);
                int scored = 0, passed = 0;
                foreach (double r in group)
                {
                    if (!double.IsNaN(r))
                    {
                        scored++;
                        passed += r >= threshold ? 1 : 0;
                    }
                }

                if (scored >= k)
                {
                    sum += PassAtK.Estimate(scored, passed, k);
                    counted++;
                }
            }

            passAtK[k] = counted == 0 ? double.NaN : sum / counted;
        }

        return new GrpoEvaluationResult
        {
            Step = CompletedSteps,
            PromptCount = prompts.Count,
            SamplesPerPrompt = n,
            PassThreshold = threshold,
            RewardMean = Statistics.Mean(rewards),
            PassAt1 = passAtK[1],
            PassAtK = passAtK,
            ComponentRewardMeans = scores.ComponentRewardMeans(),
            FailedRewardCount = rewards.Count(double.IsNaN),
            Rewards = Array.AsReadOnly(rewards),
            Duration = _timeProvider.GetElapsedTime(start),
        };
    }
}
