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

    /// <summary>Scores evidence with a reader through the sufficiency reward: accuracy = mean s, cheat rate = mean (1 − h).</summary>
    public static async Task<EvidenceScore> ScoreEvidenceAsync(string readerName, IRewardModel reward, IReadOnlyList<VqaItem> items, IReadOnlyList<string> evidence, CancellationToken cancellationToken)
    {
        var results = await reward.ScoreAsync(items.Select((item, i) => item.ToRequest(evidence[i])).ToList(), cancellationToken).ConfigureAwait(false);
        var scored = results.Where(r => r.IsScored).ToList();
        double accuracy = scored.Count == 0 ? double.NaN : scored.Average(r => r.Components.GetValueOrDefault(RewardComponentNames.Sufficiency));
        double cheat = scored.Count == 0 ? double.NaN : scored.Average(r => 1 - r.Components.GetValueOrDefault(RewardComponentNames.Honesty, 1));
        double length = evidence.Average(e => (double)Vocabulary.Split(e).Count);
        return new EvidenceScore(readerName, accuracy, cheat, length, results.Count - scored.Count);
    }

    /// <summary>Accuracy at each corruption level divided by the clean accuracy.</summary>
    public static double[] Retention(SceneVlm model, IReadOnlyList<VqaItem> items, Tensor images, CorruptionKind kind, int seed)
    {
        var levels = Corruption.Levels(kind);
        var generator = new Generator((ulong)(seed + 17));
        var accuracies = new double[levels.Length];
        for (int l = 0; l < levels.Length; l++)
        {
            using var scope = torch.NewDisposeScope();
            var corrupted = Corruption.Apply(images, kind, levels[l], generator);
            accuracies[l] = Accuracy(model, items, corrupted)[Overall];
        }

        return accuracies.Select(a => accuracies[0] > 0 ? a / accuracies[0] : double.NaN).ToArray();
    }

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
