using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Vepa.Grpo;

/// <summary>The trainer's instruments on the "Vepa.Grpo" meter.</summary>
internal sealed class GrpoMetrics : IDisposable
{
    private readonly Meter _meter;
    private readonly Counter<long> _steps;
    private readonly Counter<long> _rollouts;
    private readonly Counter<long> _failed;
    private readonly Counter<long> _penalized;
    private readonly Counter<long> _tokens;
    private readonly Histogram<double> _reward;
    private readonly Histogram<double> _loss;
    private readonly Histogram<double> _kl;
    private readonly Histogram<double> _gradNorm;
    private readonly Histogram<double> _zeroSignal;
    private readonly Histogram<double> _length;
    private readonly Histogram<double> _phase;
    private readonly Histogram<double> _componentReward;
    private readonly Counter<long> _componentFailed;
    private readonly Histogram<double> _evaluationReward;
    private readonly Histogram<double> _evaluationPass;
    private readonly Histogram<double> _entropyBonus;
    private readonly Histogram<double> _entropyMasked;
    private readonly bool _ownsMeter;

    public GrpoMetrics(IMeterFactory? meterFactory)
    {
        _ownsMeter = meterFactory is null;
        _meter = meterFactory?.Create(GrpoMetricNames.MeterName) ?? new Meter(GrpoMetricNames.MeterName);
        _steps = _meter.CreateCounter<long>(GrpoMetricNames.Steps, "{step}", "Completed GRPO steps.");
        _rollouts = _meter.CreateCounter<long>(GrpoMetricNames.Rollouts, "{rollout}", "Rollouts sampled.");
        _failed = _meter.CreateCounter<long>(GrpoMetricNames.FailedRewards, "{rollout}", "Rollouts whose reward failed.");
        _penalized = _meter.CreateCounter<long>(GrpoMetricNames.PenalizedRewards, "{rollout}", "Rollouts scored with the reward's penalty because their evidence made the reward fail.");
        _tokens = _meter.CreateCounter<long>(GrpoMetricNames.Tokens, "{token}", "Completion tokens trained on.");
        _reward = _meter.CreateHistogram<double>(GrpoMetricNames.Reward, null, "Mean reward of a step.");
        _loss = _meter.CreateHistogram<double>(GrpoMetricNames.Loss, null, "Mean loss of a step.");
        _kl = _meter.CreateHistogram<double>(GrpoMetricNames.Kl, null, "Token-mean KL of a step.");
        _gradNorm = _meter.CreateHistogram<double>(GrpoMetricNames.GradNorm, null, "Gradient norm of a step.");
        _zeroSignal = _meter.CreateHistogram<double>(GrpoMetricNames.ZeroSignalFraction, null, "Fraction of zero-signal groups of a step.");
        _length = _meter.CreateHistogram<double>(GrpoMetricNames.CompletionLength, "{token}", "Mean completion length of a step.");
        _phase = _meter.CreateHistogram<double>(GrpoMetricNames.PhaseDuration, "s", "Duration of a phase of a step.");
        _componentReward = _meter.CreateHistogram<double>(GrpoMetricNames.ComponentReward, null, "Mean reward of one reward component in a step.");
        _componentFailed = _meter.CreateCounter<long>(GrpoMetricNames.ComponentFailedRewards, "{rollout}", "Rollouts one reward component failed to score.");
        _evaluationReward = _meter.CreateHistogram<double>(GrpoMetricNames.EvaluationReward, null, "Mean reward of an evaluation.");
        _evaluationPass = _meter.CreateHistogram<double>(GrpoMetricNames.EvaluationPassAtK, null, "pass@k of an evaluation.");
        _entropyBonus = _meter.CreateHistogram<double>(GrpoMetricNames.EntropyBonus, null, "Entropy bonus subtracted from the loss in a step.");
        _entropyMasked = _meter.CreateHistogram<double>(GrpoMetricNames.EntropyMaskedFraction, null, "Fraction of tokens whose policy term the top-entropy mask dropped in a step.");
    }

    public void Record(GrpoStepRecord record)
    {
        _steps.Add(1);
        _rollouts.Add(record.RolloutCount);
        _failed.Add(record.FailedRewardCount);
        _penalized.Add(record.PenalizedRewardCount);
        _tokens.Add(record.CompletionTokens);
        RecordFinite(_reward, record.RewardMean);
        RecordFinite(_loss, record.Loss);
        RecordFinite(_kl, record.Kl);
        RecordFinite(_gradNorm, record.GradNorm);
        RecordFinite(_zeroSignal, record.ZeroSignalGroupFraction);
        RecordFinite(_length, record.CompletionLengthMean);
        if (record.EntropyBonus != 0)
        {
            RecordFinite(_entropyBonus, record.EntropyBonus);
        }

        if (record.EntropyMaskedFraction != 0)
        {
            RecordFinite(_entropyMasked, record.EntropyMaskedFraction);
        }

        Phase("generation", record.Timings.Generation);
        Phase("reward", record.Timings.Reward);
        Phase("log_probs", record.Timings.LogProbs);
        Phase("update", record.Timings.Update);
        Phase("total", record.Timings.Total);
        RecordComponentsAndEvaluation(record);
    }

    public void Dispose()
    {
        if (_ownsMeter)
        {
            _meter.Dispose();
        }
    }

    private void RecordComponentsAndEvaluation(GrpoStepRecord record)
    {
        foreach (var (name, value) in record.ComponentRewardMeans)
        {
            if (double.IsFinite(value))
            {
                _componentReward.Record(value, new TagList { { GrpoMetricNames.ComponentTag, name } });
            }
        }

        foreach (var (name, count) in record.ComponentFailureCounts)
        {
            _componentFailed.Add(count, new TagList { { GrpoMetricNames.ComponentTag, name } });
        }

        if (record.Evaluation is { } evaluation)
        {
            RecordFinite(_evaluationReward, evaluation.RewardMean);
            foreach (var (k, value) in evaluation.PassAtK)
            {
                if (double.IsFinite(value))
                {
                    _evaluationPass.Record(value, new TagList { { GrpoMetricNames.KTag, k } });
                }
            }
        }
    }

    private static void RecordFinite(Histogram<double> histogram, double value)
    {
        if (double.IsFinite(value))
        {
            histogram.Record(value);
        }
    }

    private void Phase(string phase, TimeSpan duration)
        => _phase.Record(duration.TotalSeconds, new TagList { { GrpoMetricNames.PhaseTag, phase } });
}
