using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace Vepa.Benchmarks.LogProbs;

/// <summary>
/// Shows the peak extra native memory each benchmark process measured in its global setup (see
/// <see cref="PeakNativeMemory"/>), for the forward pass alone or forward+backward, or its ratio to the baseline's.
/// </summary>
internal sealed class PeakNativeMemoryColumn(bool training, bool ratio) : IColumn
{
    public string Id => $"{nameof(PeakNativeMemoryColumn)}.{training}.{ratio}";

    public string ColumnName => (training ? "Peak native fwd+bwd" : "Peak native fwd") + (ratio ? " / baseline" : "");

    public bool AlwaysShow => true;

    public ColumnCategory Category => ColumnCategory.Custom;

    public int PriorityInCategory => (training ? 2 : 0) + (ratio ? 1 : 0);

    public bool IsNumeric => true;

    public UnitType UnitType => UnitType.Dimensionless;

    public string Legend => (training ? "Peak extra resident memory of one forward+backward call" : "Peak extra resident memory of one forward call under no_grad")
        + (ratio ? ", divided by the baseline's" : " (VmHWM − VmRSS before; libtorch allocations included)");

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        long? value = Read(benchmarkCase);
        if (!ratio)
        {
            return PeakNativeMemory.Format(value);
        }

        var baseline = summary.GetBaseline(summary.GetLogicalGroupKey(benchmarkCase));
        long? reference = baseline is null ? null : Read(baseline);
        return value is long v && reference is long r && r > 0
            ? (v / (double)r).ToString("0.000", System.Globalization.CultureInfo.InvariantCulture)
            : "n/a";
    }

    public bool IsAvailable(Summary summary) => true;

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

    public override string ToString() => ColumnName;

    private long? Read(BenchmarkCase benchmarkCase)
    {
        string suite = benchmarkCase.Descriptor.Type.Name;
        string method = benchmarkCase.Descriptor.WorkloadMethod.Name;
        // Every parameter value, in order ("2048 32768" style shapes, or "2x1024 bf16" for suites with a dtype too).
        string shape = string.Join(" ", benchmarkCase.Parameters.Items.Select(p => p.Value?.ToString()));
        var found = PeakNativeMemory.Lookup(suite, method, shape);
        return found is null ? null : training ? found.Value.Training : found.Value.Forward;
    }
}
