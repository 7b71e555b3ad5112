using System.Globalization;
using Vepa.Grpo;

namespace Vepa.Benchmarks.Trainer;

/// <summary>Averages the phase split of the step records of one benchmark run and prints it with the benchmark's output.</summary>
internal sealed class StepSplit
{
    private readonly List<GrpoStepRecord> _records = [];

    public void Add(GrpoStepRecord record) => _records.Add(record);

    public void Print(string method)
    {
        if (_records.Count == 0)
        {
            return;
        }

        double total = _records.Sum(r => r.Timings.Total.TotalMilliseconds);
        string Share(Func<GrpoStepTimings, TimeSpan> phase) =>
            (100 * _records.Sum(r => phase(r.Timings).TotalMilliseconds) / total).ToString("F1", CultureInfo.InvariantCulture) + " %";
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"// step split {method} over {_records.Count} steps: mean {total / _records.Count:F1} ms; generation {Share(t => t.Generation)}, reward {Share(t => t.Reward)}, log-probs {Share(t => t.LogProbs)}, update {Share(t => t.Update)}, bookkeeping {Share(t => t.Bookkeeping)}; {_records.Average(r => r.TokensPerSecond):F0} completion tokens/s, {_records.Average(r => r.CompletionLengthMean):F1} tokens per completion"));
    }
}
