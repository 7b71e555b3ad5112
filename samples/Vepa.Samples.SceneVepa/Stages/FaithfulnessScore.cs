using Vepa.Samples.SceneVepa.Reading;
using Vepa.Samples.SceneVepa.World;

namespace Vepa.Samples.SceneVepa.Stages;

/// <summary>
/// How faithful a set of evidence texts is to the scene graph, and how the reader's accuracy splits by it (see <see cref="Faithfulness"/>).
/// </summary>
/// <param name="Items">How many evidence texts.</param>
/// <param name="Precision">True stated facts / stated facts, pooled over the texts (NaN when none states a fact).</param>
/// <param name="Recall">Question-relevant facts stated truly / question-relevant facts, pooled.</param>
/// <param name="HallucinationRate">The share of texts that state at least one false fact.</param>
/// <param name="EchoRate">The share of texts that assert the queried object, attribute or cell with something the scene does not have there.</param>
/// <param name="AbsentEchoRate">Of the existence questions whose object is absent, the share whose evidence asserts it (NaN without such questions).</param>
/// <param name="FaithfulShare">The share of texts that state at least one fact and only true ones.</param>
/// <param name="AccuracyFaithful">The reader's accuracy (mean s) on the faithful texts.</param>
/// <param name="AccuracyUnfaithful">The reader's accuracy on the others (a false fact, or no fact at all).</param>
/// <param name="CorrectUnsupported">Of the reader's correct answers, the share whose question-relevant facts the evidence does not all state truly: right answers drawn from false or missing evidence.</param>
internal sealed record FaithfulnessScore(
    int Items,
    double Precision,
    double Recall,
    double HallucinationRate,
    double EchoRate,
    double AbsentEchoRate,
    double FaithfulShare,
    double AccuracyFaithful,
    double AccuracyUnfaithful,
    double CorrectUnsupported)
{
    /// <summary>Summarises the checks of <paramref name="items"/>' evidence with the reader's per-item sufficiency s (1 correct, 0 not).</summary>
    public static FaithfulnessScore Of(IReadOnlyList<VqaItem> items, IReadOnlyList<FaithfulnessCheck> checks, IReadOnlyList<double> sufficiency)
    {
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(checks);
        ArgumentNullException.ThrowIfNull(sufficiency);
        if (items.Count != checks.Count || items.Count != sufficiency.Count)
        {
            throw new ArgumentException($"items ({items.Count}), checks ({checks.Count}) and sufficiency ({sufficiency.Count}) must have the same length.", nameof(checks));
        }

        int n = items.Count;
        var all = Enumerable.Range(0, n).ToList();
        int facts = checks.Sum(c => c.Facts);
        int relevant = checks.Sum(c => c.Relevant);
        var faithful = all.Where(i => checks[i].Faithful).ToList();
        var unfaithful = all.Where(i => !checks[i].Faithful).ToList();
        var correct = all.Where(i => sufficiency[i] >= 1).ToList();
        var absent = all.Where(i => items[i].Family == QuestionFamily.Exist && items[i].Gold == "no").ToList();
        return new FaithfulnessScore(
            n,
            facts == 0 ? double.NaN : checks.Sum(c => c.TrueFacts) / (double)facts,
            relevant == 0 ? double.NaN : checks.Sum(c => c.RelevantStated) / (double)relevant,
            Share(all, i => checks[i].Hallucinated),
            Share(all, i => checks[i].Echo),
            Share(absent, i => checks[i].Echo),
            Share(all, i => checks[i].Faithful),
            faithful.Count == 0 ? double.NaN : faithful.Average(i => sufficiency[i]),
            unfaithful.Count == 0 ? double.NaN : unfaithful.Average(i => sufficiency[i]),
            Share(correct, i => !checks[i].Supported));
    }

    private static double Share(List<int> set, Func<int, bool> predicate) => set.Count == 0 ? double.NaN : set.Count(predicate) / (double)set.Count;
}
