using TorchSharp;

namespace Vepa.Grpo;

/// <summary>The bridge from reward results to the advantage kernel's input: a [P, G] rewards tensor with NaN for failures.</summary>
public static class RewardTensors
{
    /// <summary>Lays the results of P × G rollouts out as [P, G] float64, <see cref="double.NaN"/> where a reward failed.</summary>
    /// <param name="results">One result per rollout, group after group (the order of <see cref="RolloutBatch.ToRewardRequests()"/>).</param>
    /// <param name="groupSize">G.</param>
    /// <param name="device">The device of the tensor; <see langword="null"/> for the CPU.</param>
    /// <returns>The rewards; it belongs to the current dispose scope.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="results"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="groupSize"/> is less than 1.</exception>
    /// <exception cref="ArgumentException">The result count is 0 or not divisible by <paramref name="groupSize"/>, or a result is null.</exception>
    public static torch.Tensor FromResults(IReadOnlyList<RewardResult> results, int groupSize, torch.Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(results);
        ArgumentOutOfRangeException.ThrowIfLessThan(groupSize, 1);
        if (results.Count == 0 || results.Count % groupSize != 0)
        {
            throw new ArgumentException($"The number of results ({results.Count}) must be a positive multiple of G = {groupSize}.", nameof(results));
        }

        var values = new double[results.Count];
        for (int i = 0; i < values.Length; i++)
        {
            var result = results[i] ?? throw new ArgumentException($"results[{i}] is null.", nameof(results));
            values[i] = result.IsScored ? result.Value : double.NaN;
        }

        return torch.tensor(values, [results.Count / groupSize, groupSize], torch.ScalarType.Float64, device);
    }
}
