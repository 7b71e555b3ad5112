using System.Globalization;

namespace Vepa;

/// <summary>What <see cref="IPolicy.ComputeLogProbs"/> computes: at which temperature, for which rows, with or without the entropy.</summary>
public sealed class PolicyLogProbOptions
{
    /// <summary>Gets or sets the temperature τ the logits are divided by; use the sampling temperature so the ratio compares like with like.</summary>
    /// <value>The default is 1. Must be finite and &gt; 0.</value>
    public double Temperature { get; set; } = 1.0;

    /// <summary>Gets or sets the rows of the batch to compute, in the order wanted (a minibatch); <see langword="null"/> computes every row in order.</summary>
    /// <value>The default is <see langword="null"/>. Each row must be in [0, B); rows may repeat.</value>
    public IReadOnlyList<int>? Rows { get; set; }

    /// <summary>Gets or sets whether the per-token entropy of the predicted distribution is computed too (it carries no gradient unless <see cref="EntropyGradient"/> is set).</summary>
    /// <value>The default is <see langword="false"/>.</value>
    public bool ComputeEntropy { get; set; }

    /// <summary>Gets or sets whether the entropy (with <see cref="ComputeEntropy"/>) must be differentiable w.r.t. the policy's
    /// parameters, as an entropy bonus in the loss needs; a policy that cannot differentiate it returns it without gradient.</summary>
    /// <value>The default is <see langword="false"/> (no gradient, no backward cost).</value>
    public bool EntropyGradient { get; set; }

    /// <summary>Checks the settings against a batch of <paramref name="rowCount"/> rows.</summary>
    /// <param name="rowCount">B, the rows of the batch.</param>
    /// <exception cref="ArgumentException">A setting is invalid; the message lists every problem.</exception>
    public void Validate(int rowCount)
    {
        var problems = new List<string>();
        if (!(Temperature > 0) || double.IsPositiveInfinity(Temperature))
        {
            problems.Add(string.Create(CultureInfo.InvariantCulture, $"Temperature must be finite and > 0; got {Temperature}."));
        }

        if (Rows is not null)
        {
            if (Rows.Count == 0)
            {
                problems.Add("Rows must not be empty (null selects every row).");
            }

            for (int i = 0; i < Rows.Count; i++)
            {
                if (Rows[i] < 0 || Rows[i] >= rowCount)
                {
                    problems.Add($"Rows[{i}] must be in [0, {rowCount}); got {Rows[i]}.");
                    break;
                }
            }
        }

        if (problems.Count > 0)
        {
            throw new ArgumentException("Invalid PolicyLogProbOptions: " + string.Join(" ", problems), "options");
        }
    }
}
