using System.Globalization;
using System.Text.Json;

namespace Vepa.Grpo;

/// <summary>Appends one JSON object per step to a JSON-lines file (flat keys, seconds for durations, null for NaN), flushed per line.</summary>
internal sealed class StepLogWriter : IDisposable
{
    private readonly FileStream _stream;

    public StepLogWriter(string path)
    {
        string? folder = Path.GetDirectoryName(Path.GetFullPath(path));
        if (folder is not null)
        {
            Directory.CreateDirectory(folder);
        }

        _stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read);
        _stream.Seek(0, SeekOrigin.End);
    }

    public void Append(GrpoStepRecord record)
    {
        using (var json = new Utf8JsonWriter(_stream))
        {
            json.WriteStartObject();
            json.WriteNumber("step", record.Step);
            Number(json, "learning_rate", record.LearningRate);
            json.WriteNumber("prompts", record.PromptCount);
            json.WriteNumber("rollouts", record.RolloutCount);
            Number(json, "reward_mean", record.RewardMean);
            Number(json, "reward_std", record.RewardStd);
            foreach (var (name, value) in record.RewardComponents)
            {
                Number(json, "reward/" + name, value);
            }

            json.WriteNumber("rewards_failed", record.FailedRewardCount);
            json.WriteNumber("rewards_penalized", record.PenalizedRewardCount);
            Number(json, "zero_signal_fraction", record.ZeroSignalGroupFraction);
            json.WriteNumber("groups_resampled", record.ResampledGroupCount);
            json.WriteNumber("groups_dropped", record.DroppedGroupCount);
            Number(json, "advantage_mean", record.AdvantageMean);
            Number(json, "advantage_std", record.AdvantageStd);
            Number(json, "advantage_min", record.AdvantageMin);
            Number(json, "advantage_max", record.AdvantageMax);
            Number(json, "loss", record.Loss);
            Number(json, "kl", record.Kl);
            Number(json, "clip_low", record.ClipFractionLow);
            Number(json, "clip_high", record.ClipFractionHigh);
            Number(json, "dual_clip", record.DualClipFraction);
            Number(json, "ratio_mean", record.MeanRatio);
            Number(json, "entropy", record.Entropy);
            Number(json, "length_mean", record.CompletionLengthMean);
            json.WriteNumber("length_max", record.CompletionLengthMax);
            Number(json, "truncated_fraction", record.TruncatedFraction);
            Number(json, "grad_norm", record.GradNorm);
            json.WriteNumber("optimizer_steps", record.OptimizerSteps);
            json.WriteNumber("optimizer_steps_skipped", record.SkippedOptimizerSteps);
            json.WriteNumber("tokens", record.CompletionTokens);
            Number(json, "tokens_per_second", record.TokensPerSecond);
            Number(json, "time/generation", record.Timings.Generation.TotalSeconds);
            Number(json, "time/reward", record.Timings.Reward.TotalSeconds);
            Number(json, "time/log_probs", record.Timings.LogProbs.TotalSeconds);
            Number(json, "time/update", record.Timings.Update.TotalSeconds);
            Number(json, "time/bookkeeping", record.Timings.Bookkeeping.TotalSeconds);
            Number(json, "time/total", record.Timings.Total.TotalSeconds);
            WriteRewardsAndEvaluation(json, record);
            json.WriteNumber("weight_version", record.RolloutWeightVersion);
            json.WriteNumber("weight_version_lag", record.WeightVersionLag);
            Number(json, "sampler/kl", record.SamplerKl);
            Number(json, "sampler/corrected_fraction", record.SamplerCorrectionFraction);
            json.WriteNumber("update_tokens_computed", record.UpdateTokensComputed);
            Number(json, "update_padding_fraction", record.UpdatePaddingFraction);
            Number(json, "entropy_bonus", record.EntropyBonus);
            Number(json, "entropy_masked_fraction", record.EntropyMaskedFraction);
            json.WriteEndObject();
        }

        _stream.WriteByte((byte)'\n');
        _stream.Flush(flushToDisk: true);
    }

    /// <summary>Flushes and returns the file's length (the position a checkpoint records).</summary>
    public long Flush()
    {
        _stream.Flush(flushToDisk: true);
        return _stream.Length;
    }

    /// <summary>Drops what was written after a checkpoint (lines of steps the resumed run repeats).</summary>
    public void TruncateTo(long length)
    {
        if (_stream.Length > length)
        {
            _stream.SetLength(length);
        }

        _stream.Seek(0, SeekOrigin.End);
    }

    public void Dispose() => _stream.Dispose();

    /// <summary>The per-component rewards, the evaluation (eval/…) and the logged completions (an array), when present.</summary>
    private static void WriteRewardsAndEvaluation(Utf8JsonWriter json, GrpoStepRecord record)
    {
        foreach (var (name, value) in record.ComponentRewardMeans)
        {
            Number(json, "reward_component/" + name, value);
        }

        foreach (var (name, count) in record.ComponentFailureCounts)
        {
            json.WriteNumber("rewards_failed/" + name, count);
        }

        if (record.Evaluation is { } evaluation)
        {
            Number(json, "eval/reward_mean", evaluation.RewardMean);
            foreach (var (k, value) in evaluation.PassAtK)
            {
                Number(json, string.Create(CultureInfo.InvariantCulture, $"eval/pass@{k}"), value);
            }

            foreach (var (name, value) in evaluation.ComponentRewardMeans)
            {
                Number(json, "eval/reward_component/" + name, value);
            }

            json.WriteNumber("eval/rewards_failed", evaluation.FailedRewardCount);
            Number(json, "eval/time", evaluation.Duration.TotalSeconds);
        }

        if (record.Completions.Count > 0)
        {
            json.WriteStartArray("completions");
            foreach (var sample in record.Completions)
            {
                json.WriteStartObject();
                json.WriteNumber("row", sample.Row);
                json.WriteString("prompt_id", sample.PromptId);
                json.WriteString("prompt", sample.Prompt);
                json.WriteString("completion", sample.Completion);
                Number(json, "reward", sample.Reward);
                foreach (var (name, value) in sample.ComponentRewards)
                {
                    Number(json, "reward/" + name, value);
                }

                Number(json, "advantage", sample.Advantage);
                json.WriteEndObject();
            }

            json.WriteEndArray();
        }
    }

    private static void Number(Utf8JsonWriter json, string name, double value)
    {
        if (double.IsFinite(value))
        {
            json.WriteNumber(name, value);
        }
        else
        {
            json.WriteNull(name);
        }
    }
}
