namespace Vepa.Grpo;

/// <summary>The reward results of a step's rollouts, with their values (NaN for failures).</summary>
internal sealed class StepScores
{
    private StepScores(IReadOnlyList<RewardResult> results)
    {
        Results = results;
        Values = results.Select(r => r.IsScored ? r.Value : double.NaN).ToArray();
    }

    public IReadOnlyList<RewardResult> Results { get; }

    public double[] Values { get; }

    public static StepScores From(IReadOnlyList<RewardResult> results)
    {
        for (int i = 0; i < results.Count; i++)
        {
            if (results[i] is null)
            {
                throw new InvalidOperationException($"The reward model returned a null result at position {i}.");
            }
        }

        return new StepScores(results.ToArray());
    }

    public static StepScores AllFailed(int count, string reason)
    {
        var failure = RewardResult.Failed(reason, isTransient: true);
        return new StepScores(Enumerable.Repeat(failure, count).ToArray());
    }

    /// <summary>Replaces the results of groups <paramref name="groups"/> with those of <paramref name="replacement"/> (its groups in that order).</summary>
    public StepScores ReplaceGroups(StepScores replacement, int[] groups, int groupSize)
    {
        var results = Results.ToArray();
        for (int j = 0; j < groups.Length; j++)
        {
            for (int g = 0; g < groupSize; g++)
            {
                results[(groups[j] * groupSize) + g] = replacement.Results[(j * groupSize) + g];
            }
        }

        return new StepScores(results);
    }

    /// <summary>The most frequent failure reason among the failed results (ties: the first seen), or <see langword="null"/>.</summary>
    public string? MostFrequentFailure()
        => Results.Where(r => !r.IsScored && r.Failure is not null)
            .GroupBy(r => r.Failure!.Reason, StringComparer.Ordinal)
            .OrderByDescending(g => g.Count())
            .Select(g => g.Key)
            .FirstOrDefault();

    /// <summary>The mean of each named component over the scored results.</summary>
    public IReadOnlyDictionary<string, double> ComponentMeans()
    {
        var sums = new SortedDictionary<string, (double Sum, int Count)>(StringComparer.Ordinal);
        foreach (var result in Results.Where(r => r.IsScored))
        {
            foreach (var (name, value) in result.Components)
            {
                sums.TryGetValue(name, out var entry);
                sums[name] = (entry.Sum + value, entry.Count + 1);
            }
        }

        return sums.ToDictionary(e => e.Key, e => e.Value.Sum / e.Value.Count, StringComparer.Ordinal);
    }
}
