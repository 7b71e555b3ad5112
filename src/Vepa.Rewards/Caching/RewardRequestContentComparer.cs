namespace Vepa.Rewards;

/// <summary>
/// Compares requests by what a reward depends on: question, gold answer, choices (in order) and evidence, ordinally.
/// <see cref="RewardRequest.Id"/> and <see cref="RewardRequest.Metadata"/> are ignored.
/// </summary>
internal sealed class RewardRequestContentComparer : IEqualityComparer<RewardRequest>
{
    public static readonly RewardRequestContentComparer Instance = new();

    private RewardRequestContentComparer()
    {
    }

    public bool Equals(RewardRequest? x, RewardRequest? y)
    {
        if (ReferenceEquals(x, y))
        {
            return true;
        }

        if (x is null || y is null)
        {
            return false;
        }

        return string.Equals(x.Evidence, y.Evidence, StringComparison.Ordinal)
            && string.Equals(x.Question, y.Question, StringComparison.Ordinal)
            && string.Equals(x.GoldAnswer, y.GoldAnswer, StringComparison.Ordinal)
            && ChoicesEqual(x.Choices, y.Choices);
    }

    public int GetHashCode(RewardRequest obj)
    {
        ArgumentNullException.ThrowIfNull(obj);
        var hash = default(HashCode);
        hash.Add(obj.Question, StringComparer.Ordinal);
        hash.Add(obj.GoldAnswer, StringComparer.Ordinal);
        hash.Add(obj.Evidence, StringComparer.Ordinal);
        if (obj.Choices is { } choices)
        {
            hash.Add(choices.Count);
            foreach (string choice in choices)
            {
                hash.Add(choice, StringComparer.Ordinal);
            }
        }
        else
        {
            hash.Add(-1);
        }

        return hash.ToHashCode();
    }

    private static bool ChoicesEqual(IReadOnlyList<string>? x, IReadOnlyList<string>? y)
    {
        if (ReferenceEquals(x, y))
        {
            return true;
        }

        if (x is null || y is null || x.Count != y.Count)
        {
            return false;
        }

        for (int i = 0; i < x.Count; i++)
        {
            if (!string.Equals(x[i], y[i], StringComparison.Ordinal))
            {
                return false;
            }
        }

        return true;
    }
}
