using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace Vepa.Benchmarks;

/// <summary>
/// Achieved bandwidth of a <see cref="MemoryBandwidthBenchmarks"/> method: the bytes it must move
/// (<see cref="MemoryBandwidthBenchmarks.BytesMoved"/>) over its mean time, in GB/s, or as a fraction of what the large
/// copy (<see cref="MemoryBandwidthBenchmarks.Copy"/>) achieved in the same run.
/// </summary>
internal sealed class BandwidthColumn : IColumn
{
    private readonly bool _relativeToCopy;

    public BandwidthColumn(bool relativeToCopy) => _relativeToCopy = relativeToCopy;

    public string Id => _relativeToCopy ? "VepaBandwidthOfCopy" : "VepaBandwidth";

    public string ColumnName => _relativeToCopy ? "Of copy BW" : "Bandwidth";

    public bool AlwaysShow => true;

    public ColumnCategory Category => ColumnCategory.Custom;

    public int PriorityInCategory => _relativeToCopy ? 1 : 0;

    public bool IsNumeric => true;

    public UnitType UnitType => UnitType.Dimensionless;

    public string Legend => _relativeToCopy
        ? "Bandwidth as a fraction of the 256 MiB tensor copy's bandwidth in the same run"
        : "Bytes the method must read and write (see MemoryBandwidthBenchmarks.BytesMoved) per second, 1 GB = 1e9 bytes";

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, summary.Style);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        double? own = BytesPerSecond(summary, benchmarkCase);
        if (own is null)
        {
            return "NA";
        }

        if (!_relativeToCopy)
        {
            return $"{own.Value / 1e9:F2} GB/s";
        }

        BenchmarkCase? copy = summary.BenchmarksCases.FirstOrDefault(c => c.Descriptor.WorkloadMethod.Name == nameof(MemoryBandwidthBenchmarks.Copy)
            && Equals(c.Parameters["Shape"], benchmarkCase.Parameters["Shape"]));
        double? copyRate = copy is null ? null : BytesPerSecond(summary, copy);
        return copyRate is null or 0 ? "NA" : $"{own.Value / copyRate.Value:P0}";
    }

    public bool IsAvailable(Summary summary) => true;

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

    public override string ToString() => ColumnName;

    private static double? BytesPerSecond(Summary summary, BenchmarkCase benchmarkCase)
    {
        double? meanNanoseconds = summary[benchmarkCase]?.ResultStatistics?.Mean;
        long bytes = MemoryBandwidthBenchmarks.BytesMoved(
            benchmarkCase.Descriptor.WorkloadMethod.Name, benchmarkCase.Parameters["Shape"]?.ToString() ?? "256x2048");
        return meanNanoseconds is > 0 && bytes > 0 ? bytes / (meanNanoseconds.Value * 1e-9) : null;
    }
}
