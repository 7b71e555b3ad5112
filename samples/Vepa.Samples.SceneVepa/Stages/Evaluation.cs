using TorchSharp;
using Vepa.Rewards;
using Vepa.Samples.SceneVepa.Model;
using Vepa.Samples.SceneVepa.World;
using static TorchSharp.torch;

namespace Vepa.Samples.SceneVepa.Stages;

/// <summary>How sufficient a model's evidence is for one reader.</summary>
internal sealed record EvidenceScore(string Reader, double Accuracy, double CheatRate, double MeanLength, int Failed);

/// <summary>The held-out measurements.</summary>
internal static class Evaluation
{
    public const int MaxEvidenceTokens = 16;
    public const int MaxAnswerTokens = 3;
    private static readonly AnswerMatcher Matcher = new();

    public const string Overall = "overall";

    /// <summary>Answers each question (greedy) and returns the accuracy per family and overall.</summary>
    public static Dictionary<string, double> Accuracy(SceneVlm model, IReadOnlyList<VqaItem> items, Tensor images)
    {
        string[] answers = Decoding.Greedy(model, images, items.Select(i => i.Question).ToList(), Vocabulary.AnswerTask, MaxAnswerTokens);
        var correct = items.Select((item, i) => Matcher.IsMatch(answers[i], item.Gold, item.Choices)).ToArray();
        var result = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var family in QuestionGenerator.Families)
        {
            var idx = Enumerable.Range(0, items.Count).Where(i => items[i].Family == family).ToList();
            result[family.ToString()] = idx.Count == 0 ? double.NaN : idx.Count(i => correct[i]) / (double)idx.Count;
        }

        result[Overall] = correct.Count(c => c) / (double)items.Count;
        return result;
    }

    /// <summary>Greedy evidence for each item.</summary>
    public static string[] Evidence(SceneVlm model, IReadOnlyList<VqaItem> items, Tensor images) =>
        Decoding.Greedy(model, images, items.Select(i => i.Question).ToList(), Vocabulary.EvidenceTask, MaxEvidenceTokens);

    /// <summary>
    /// Scores evidence with a reader through the sufficiency reward: accuracy = mean s, cheat rate = mean (1 − h). Also returns each
    /// item's s (NaN where the reward failed).
    /// </summary>
    public static async Task<(EvidenceScore Score, double[] Sufficiency)> ScoreEvidenceAsync(string readerName, IRewardModel reward, IReadOnlyList<VqaItem> items, IReadOnlyList<string> evidence, CancellationToken cancellationToken)
    {
        var results = await reward.ScoreAsync(items.Select((item, i) => item.ToRequest(evidence[i])).ToList(), cancellationToken).ConfigureAwait(false);
        var scored = results.Where(r => r.IsScored).ToList();
        double accuracy = scored.Count == 0 ? double.NaN : scored.Average(r => r.Components.GetValueOrDefault(RewardComponentNames.Sufficiency));
        double cheat = scored.Count == 0 ? double.NaN : scored.Average(r => 1 - r.Components.GetValueOrDefault(RewardComponentNames.Honesty, 1));
        double length = evidence.Average(e => (double)Vocabulary.Split(e).Count);
        double[] perItem = results.Select(r => r.IsScored ? r.Components.GetValueOrDefault(RewardComponentNames.Sufficiency) : double.NaN).ToArray();
        return (new EvidenceScore(readerName, accuracy, cheat, length, results.Count - scored.Count), perItem);
    }

    /// <summary>
    /// Faithfulness of the evidence to the scene graph, per question family and overall, with the reader's accuracy split by it.
    /// <paramref name="sufficiency"/> is the reader's s per item; items whose reward failed (NaN) are left out.
    /// </summary>
    public static Dictionary<string, FaithfulnessScore> Faithfulness(IReadOnlyList<VqaItem> items, IReadOnlyList<string> evidence, IReadOnlyList<double> sufficiency)
    {
        var keep = Enumerable.Range(0, items.Count).Where(i => !double.IsNaN(sufficiency[i])).ToList();
        var checks = keep.Select(i => Reading.Faithfulness.Check(items[i], evidence[i])).ToList();
        var kept = keep.Select(i => items[i]).ToList();
        var s = keep.Select(i => sufficiency[i]).ToList();
        var result = new Dictionary<string, FaithfulnessScore>(StringComparer.Ordinal);
        foreach (var family in QuestionGenerator.Families)
        {
            var idx = Enumerable.Range(0, kept.Count).Where(i => kept[i].Family == family).ToList();
            result[family.ToString()] = FaithfulnessScore.Of(idx.Select(i => kept[i]).ToList(), idx.Select(i => checks[i]).ToList(), idx.Select(i => s[i]).ToList());
        }

        result[Overall] = FaithfulnessScore.Of(kept, checks, s);
        return result;
    }

    /// <summary>Accuracy (per family and overall) at each corruption level of <paramref name="kind"/>, level 0 being the clean images.</summary>
    public static Dictionary<string, double[]> CorruptedAccuracy(SceneVlm model, IReadOnlyList<VqaItem> items, Tensor images, CorruptionKind kind, int seed)
    {
        var levels = Corruption.Levels(kind);
        var generator = new Generator((ulong)(seed + 17));
        var curves = new Dictionary<string, double[]>(StringComparer.Ordinal);
        for (int l = 0; l < levels.Length; l++)
        {
            using var scope = torch.NewDisposeScope();
            var corrupted = Corruption.Apply(images, kind, levels[l], generator);
            foreach (var (row, accuracy) in Accuracy(model, items, corrupted))
            {
                (curves.TryGetValue(row, out var curve) ? curve : curves[row] = new double[levels.Length])[l] = accuracy;
            }
        }

        return curves;
    }

    /// <summary>
    /// The reader's accuracy (mean s) on the model's greedy evidence at each corruption level of <paramref name="kind"/> (level 0
    /// clean), with the same corruption draws as <see cref="CorruptedAccuracy"/>: how well the evidence itself survives.
    /// </summary>
    public static async Task<double[]> CorruptedEvidenceAsync(SceneVlm model, IRewardModel reader, IReadOnlyList<VqaItem> items, Tensor images, CorruptionKind kind, int seed, CancellationToken cancellationToken)
    {
        var levels = Corruption.Levels(kind);
        var generator = new Generator((ulong)(seed + 17));
        var accuracy = new double[levels.Length];
        for (int l = 0; l < levels.Length; l++)
        {
            string[] evidence;
            using (var scope = torch.NewDisposeScope())
            {
                var corrupted = Corruption.Apply(images, kind, levels[l], generator);
                evidence = Evidence(model, items, corrupted);
            }

            accuracy[l] = (await ScoreEvidenceAsync("training reader", reader, items, evidence, cancellationToken).ConfigureAwait(false)).Score.Accuracy;
        }

        return accuracy;
    }

    /// <summary>Accuracy per family and overall with every patch masked: what the model answers from the question alone.</summary>
    public static Dictionary<string, double> BlindAccuracy(SceneVlm model, IReadOnlyList<VqaItem> items, Tensor images)
    {
        using var scope = torch.NewDisposeScope();
        using var generator = new Generator(0);
        return Accuracy(model, items, Corruption.Apply(images, CorruptionKind.MaskedPatches, 1.0, generator));
    }

    /// <summary>Accuracy at each level divided by the clean accuracy (level 0).</summary>
    public static double[] Retention(double[] accuracy) => accuracy.Select(a => accuracy[0] > 0 ? a / accuracy[0] : double.NaN).ToArray();

    /// <summary>Area under the retention curve over levels mapped to [0, 1] (trapezoids); 1 means no loss at all.</summary>
    public static double AreaUnderRetention(double[] retention)
    {
        double area = 0;
        for (int i = 1; i < retention.Length; i++)
        {
            area += (retention[i - 1] + retention[i]) / 2;
        }

        return area / (retention.Length - 1);
    }
}
