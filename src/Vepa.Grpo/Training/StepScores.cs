using TorchSharp;

namespace Vepa.Grpo;

/// <summary>
/// The reward results of a step's rollouts, one list per reward component (in the trainer's order), and the combined value of
/// each rollout: Σ_k w_k r_k, NaN where any component failed (such a rollout is not usable, as the advantage kernel decides).
/// </summary>
internal sealed class StepScores
{
    private StepScores(string[] names, double[] weights, IReadOnlyList<RewardResult>[] results)
    {
        Names = names;
        Weights = weights;
        Results = results;
        ComponentValues = results.Select(r => r.Select(x => x.IsScored ? x.Value : double.NaN).ToArray()).ToArray();
        Values = WeightedSums(names.Length);
    }

    /// <summary>Gets the component names, in the trainer's order.</summary>
    public string[] Names { get; }

    /// <summary>Gets w_k.</summary>
    public double[] Weights { get; }

    /// <summary>Gets the results of component k, one per rollout.</summary>
    public IReadOnlyList<RewardResult>[] Results { get; }

    /// <summary>Gets the values of component k per rollout (NaN for failures).</summary>
    public double[][] ComponentValues { get; }

    /// <summary>Gets the combined reward per rollout, Σ_k w_k r_k (NaN where any component failed).</summary>
    public double[] Values { get; }

    /// <summary>Σ_k w_k r_k per rollout over the first <paramref name="count"/> components; NaN where any component failed (even one left out of the sum).</summary>
    public double[] WeightedSums(int count)
    {
        var sums = new double[ComponentValues[0].Length];
        for (int i = 0; i < sums.Length; i++)
        {
            double sum = -0.0; // −0 + r is r for every r, −0 included
            bool failed = false;
            for (int k = 0; k < ComponentValues.Length; k++)
            {
                double r = ComponentValues[k][i];
                failed |= double.IsNaN(r);
                if (k < count)
                {
                    // w·r with w = 1 is r exactly: a single reward keeps its value bit for bit.
                    sum += Weights[k] == 1.0 ? r : Weights[k] * r;
                }
            }

            sums[i] = failed ? double.NaN : sum;
        }

        return sums;
    }

    /// <summary>Gets the rollouts at least one of whose components was scored with its penalty.</summary>
    public int PenalizedCount => Enumerable.Range(0, Values.Length).Count(i => Results.Any(r => r[i].IsPenalized));

    /// <summary>Checks the results and builds the scores.</summary>
    public static StepScores From(string[] names, double[] weights, IReadOnlyList<RewardResult>[] results)
    {
        for (int k = 0; k < results.Length; k++)
        {
            for (int i = 0; i < results[k].Count; i++)
            {
                if (results[k][i] is null)
                {
                    throw new InvalidOperationException($"The reward model of component '{names[k]}' returned a null result at position {i}.");
                }
            }
        }

        return new StepScores(names, weights, results.Select(r => (IReadOnlyList<RewardResult>)r.ToArray()).ToArray());
    }

    /// <summary>Results for a component whose whole batch failed (the model threw or timed out).</summary>
    public static RewardResult[] AllFailed(int count, string reason)
        => Enumerable.Repeat(RewardResult.Failed(reason, isTransient: true), count).ToArray();

    /// <summary>Replaces the results of groups <paramref name="groups"/> with those of <paramref name="replacement"/> (its groups in that order).</summary>
    public StepScores ReplaceGroups(StepScores replacement, int[] groups, int groupSize)
    {
        var results = new IReadOnlyList<RewardResult>[Results.Length];
        for (int k = 0; k < results.Length; k++)
        {
            var merged = Results[k].ToArray();
            for (int j = 0; j < groups.Length; j++)
            {
                for (int g = 0; g < groupSize; g++)
                {
                    merged[(groups[j] * groupSize) + g] = replacement.Results[k][(j * groupSize) + g];
                }
            }

            results[k] = merged;
        }

        return new StepScores(Names, Weights, results);
    }

    /// <summary>
    /// The most frequent failure reason among the failed results of every component (ties: the first seen), prefixed by the
    /// component's name when there are several, or <see langword="null"/>.
    /// </summary>
    public string? MostFrequentFailure()
        => Enumerable.Range(0, Names.Length)
            .SelectMany(k => Results[k].Where(r => !r.IsScored && r.Failure is not null)
                .Select(r => Names.Length == 1 ? r.Failure!.Reason : $"{Names[k]}: {r.Failure!.Reason}"))
            .GroupBy(reason => reason, StringComparer.Ordinal)
            .OrderByDescending(g => g.Count())
            .Select(g => g.Key)
            .FirstOrDefault();

    /// <summary>
    /// The mean of each named sub-component (<see cref="RewardResult.Components"/>) over the results that scored; the names are
    /// prefixed with "<c>{component}/</c>" when more than one component carries sub-components.
    /// </summary>
    public IReadOnlyDictionary<string, double> ComponentMeans()
    {
        int carriers = Results.Count(r => r.Any(x => x.IsScored && x.Components.Count > 0));
        var sums = new SortedDictionary<string, (double Sum, int Count)>(StringComparer.Ordinal);
        for (int k = 0; k < Names.Length; k++)
        {
            foreach (var result in Results[k].Where(r => r.IsScored))
            {
                foreach (var (name, value) in result.Components)
                {
                    string key = carriers > 1 ? $"{Names[k]}/{name}" : name;
                    sums.TryGetValue(key, out var entry);
                    sums[key] = (entry.Sum + value, entry.Count + 1);
                }
            }
        }

        return sums.ToDictionary(e => e.Key, e => e.Value.Sum / e.Value.Count, StringComparer.Ordinal);
    }

    /// <summary>The mean of each component over the rollouts it scored (NaN when it scored none), by component name.</summary>
    public IReadOnlyDictionary<string, double> ComponentRewardMeans()
        => Enumerable.Range(0, Names.Length).ToDictionary(k => Names[k], k => Statistics.Mean(ComponentValues[k]), StringComparer.Ordinal);

    /// <summary>The number of rollouts each component failed to score, by component name.</summary>
    public IReadOnlyDictionary<string, int> ComponentFailureCounts()
        => Enumerable.Range(0, Names.Length).ToDictionary(k => Names[k], k => ComponentValues[k].Count(double.IsNaN), StringComparer.Ordinal);

    /// <summary>The rewards of one rollout by component name (NaN for a failed component).</summary>
    public IReadOnlyDictionary<string, double> RowComponents(int row)
        => Enumerable.Range(0, Names.Length).ToDictionary(k => Names[k], k => ComponentValues[k][row], StringComparer.Ordinal);

    /// <summary>The advantages of the scores through the advantage kernel: every component as a [P, G] float64 tensor with its weight.</summary>
    public AdvantageResult ComputeAdvantages(int groupSize, AdvantageOptions options)
    {
        using var scope = torch.NewDisposeScope();
        var tensors = ComponentValues.Select(v => torch.tensor(v, [v.Length / groupSize, groupSize], torch.ScalarType.Float64)).ToArray();
        var result = GroupAdvantages.Compute(tensors, Weights, options);
        result.Advantages.MoveToOuterDisposeScope();
        result.ZeroSignalGroups.MoveToOuterDisposeScope();
        return result;
    }
}
